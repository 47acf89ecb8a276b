"""Harvest codemods: `patterns/codemods/<id>/` folders whose ast-grep rule passes its own fixture.

A codemod whose rule is malformed or whose fixture does not hold is left out with a note, so an
approver is only ever asked to adopt transformations that were seen to do what they say.
"""

from __future__ import annotations

from bot.codemods import CODEMODS_DIR, RULE_FILE, CodemodError, check_fixture, read_codemod
from bot.learn.files import Asset, Source


def harvest_codemods(src: Source) -> None:
    for rule_rel in src.glob(f"{CODEMODS_DIR}/*/{RULE_FILE}"):
        folder_rel = rule_rel.rsplit("/", 1)[0]
        try:
            codemod = read_codemod(src.root / folder_rel)
            check_fixture(codemod)
        except (CodemodError, OSError, UnicodeDecodeError) as exc:
            src.harvest.notes.append(f"codemod {folder_rel} left out: {exc}")
            continue
        rels = [rule_rel, *(p.relative_to(src.root).as_posix() for p in (codemod.before, codemod.after))]
        texts = [src.text(rel) for rel in rels]
        if any(text is None for text in texts):
            continue
        for rel, text in zip(rels, texts, strict=True):
            src.harvest.add(Asset(rel, text or "", "codemod", "ast-grep", rel))
        src.harvest.fact(
            "codemods",
            f"`{codemod.id}` ({codemod.language}): {codemod.description} Name it in a task and the "
            "builder applies it as a deterministic step.",
        )
