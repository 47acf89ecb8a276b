"""The scripted Responses server picks its step from the request, so retries and new runs replay right."""

from __future__ import annotations

from sandbox.models.responses import FALLBACK_TEXT, ResponsesServer, apply_patch, exec_command, message

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}


def body(*history: dict) -> dict:
    return {"model": "gpt-5.5", "stream": True, "input": [USER, *history]}


def test_the_step_is_chosen_by_the_tool_calls_already_answered() -> None:
    server = ResponsesServer(
        [[exec_command("a"), exec_command("b")], [apply_patch("*** Begin Patch")], [message("done")]]
    )
    call = {"type": "function_call", "name": "exec_command"}
    out = {"type": "function_call_output", "output": "ok"}
    assert [i["name"] for i in server.step_for(body())] == ["exec_command", "exec_command"]
    assert server.step_for(body(call, out, call, out))[0]["name"] == "apply_patch"
    patch = {"type": "custom_tool_call", "name": "apply_patch"}
    assert server.step_for(body(call, out, call, out, patch))[0]["content"][0]["text"] == "done"
    # A new user turn starts the count again; running past the script ends with a message.
    assert server.step_for({"input": [USER, call, out, call, out, patch, USER]})[0]["type"] == "function_call"
    assert server.step_for(body(*[call] * 9))[0]["content"][0]["text"] == FALLBACK_TEXT


def test_the_reply_is_an_sse_stream_codex_accepts() -> None:
    raw = ResponsesServer([[exec_command("ls")]]).reply(body()).decode()
    events = [block.split("\n")[0] for block in raw.strip().split("\n\n")]
    assert events == [
        "event: response.created",
        "event: response.output_item.done",
        "event: response.completed",
    ]
    assert '"call_id": "call_1_0"' in raw and '"arguments": "{\\"cmd\\": \\"ls\\"}"' in raw
