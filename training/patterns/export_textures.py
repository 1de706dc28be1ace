"""The shipped bank's textures and licence notice: one image per prototype, its representative.

    python -m training.patterns.export_textures motion_core/weights/patterns

For each of the bank's prototypes the representative item (an Ansei Bukan print, CC BY-SA 4.0:
train.py picks representatives among the Edo prints only) is copied from ../shared/data/patterns
as a JPEG of at most 128 px into FOLDER/textures/proto_NNN.jpg, the item's ``texture`` is set in
the bank's JSON, and FOLDER/PATTERNS_NOTICE.md (attribution and licence) is written. Run by
train.py for --data kamon.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from motion_core.files import save_atomic, write_atomic, write_json_atomic
from training.patterns.data import DATA

NOTICE = """# Pattern bank and encoder: attribution and licence

`pattern_encoder.npz`, `pattern_bank.npz`, `pattern_bank.json` and `textures/` are derived from the
**Kamon data set** by Sakana AI: Edo-period *Ansei Bukan* woodblock prints published by the Center for
Open Data in the Humanities (CODH), and Wikimedia Commons images, licensed under
**Creative Commons Attribution-ShareAlike 4.0 International** (CC BY-SA 4.0,
https://creativecommons.org/licenses/by-sa/4.0/; full text in `LICENSE-CC-BY-SA-4.0.txt`).

Changes: images re-encoded at most 256 px (by the data set's maintainers here), resized to 64 px to train
the encoder, and to at most 128 px for the textures; the textures are recoloured in Blender when used.
These files are shared under the same licence, CC BY-SA 4.0. The textures are Ansei Bukan prints only;
Wikimedia images, which carry their own licences (listed per image in `pattern_bank.json`), are
embedded by the bank but not shipped as images.

The English captions in `pattern_bank.json` (`concepts`) were written for this project; they and their
"sacred"/"decorative" marks are illustrative, not ethnographic statements.

No batik-ragam or traditional-decor image or weight is in this folder (evaluation only, no licence).
"""


def export(folder: Path, size: int = 128) -> int:
    from PIL import Image

    bank_json = folder / "pattern_bank.json"
    meta = json.loads(bank_json.read_text(encoding="utf-8"))
    if meta["info"].get("data") != "kamon":
        raise SystemExit(f"{folder}: not a kamon-only bank; refusing to export textures from it")
    tex = folder / "textures"
    tex.mkdir(parents=True, exist_ok=True)
    for old in tex.glob("proto_*.jpg"):
        old.unlink()
    for proto in meta["prototypes"]:
        item = meta["items"][proto["medoid"]]
        if item.get("source") not in ("edo", "edo-undescribed"):
            raise SystemExit(f"prototype {proto['index']}: representative {item['path']} is not a CC BY-SA print")
        im = Image.open(DATA / item["path"]).convert("RGB")
        im.thumbnail((size, size))
        name = f"textures/proto_{proto['index']:03d}.jpg"
        save_atomic(folder / name, lambda tmp, im=im: im.save(tmp, "JPEG", quality=85), )
        item["texture"] = name
    write_json_atomic(bank_json, meta)
    write_atomic(folder / "PATTERNS_NOTICE.md", NOTICE)
    write_atomic(folder / "LICENSE-CC-BY-SA-4.0.txt", (DATA / "kamon" / "LICENSE.txt").read_text(encoding="utf-8"))
    return len(meta["prototypes"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    a = p.parse_args(argv)
    n = export(a.folder)
    print(f"wrote {n} textures and the notice in {a.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
