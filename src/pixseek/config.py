"""All settings in one object, read from `PIXSEEK_*` environment variables (and CLI flags)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_db_path() -> Path:
    return Path(user_data_dir("pixseek", appauthor=False)) / "db"


SETTINGS_PREFIX = "PIXSEEK_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=SETTINGS_PREFIX, extra="ignore")

    # Store
    db: Path = Field(default_factory=default_db_path, description="embedded store folder")
    store: Literal["lancedb", "opensearch"] = "lancedb"
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index: str = "pixseek"
    opensearch_user: str | None = None
    opensearch_password: str | None = None
    opensearch_verify_certs: bool = True
    opensearch_ca_certs: str | None = None
    ann_threshold: int = Field(default=50_000, ge=1, description="rows before an ANN index is built")
    resident_index: bool = Field(
        default=True,
        description="at ann_threshold images and up, optimize also builds an in-memory HNSW snapshot "
        "(about 1.9 GB per 1M 384-d images) that answers image searches, unfiltered or filtered by "
        "classes and dates, of the table version it covers",
    )

    # Models
    models: str = Field(default="starter", description="'starter' or a model-pack directory")
    inference: Literal["local", "triton"] = "local"
    triton_url: str = "127.0.0.1:8001"
    onnx_providers: str = Field(default="auto", description="'auto', 'cpu' or 'cuda'")
    onnx_engine: Literal["auto", "onnxruntime", "openvino"] = Field(
        default="auto",
        description="what runs an exported pack in-process; 'auto': OpenVINO (bf16) when it is "
        "installed and the CPU has bf16 arithmetic (AMX) and no CUDA provider is chosen, else ONNX Runtime",
    )
    starter_detector_engine: Literal["auto", "opencv", "openvino"] = Field(
        default="auto",
        description="what runs the starter pack's SSD detector; 'auto': OpenVINO (fp32, about twice "
        "as fast, same detections) when it is installed, else OpenCV's dnn",
    )
    onnx_threads: int = Field(
        default=0,
        ge=0,
        description="threads per model call (ONNX Runtime or OpenVINO); 0: one per usable CPU",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("pixseek", appauthor=False)),
        description="derived model data, e.g. the starter pack's class-name embeddings",
    )

    # Ingest and decode limits
    max_image_pixels: int = Field(default=64_000_000, ge=1)
    batch_size: int = Field(default=16, ge=1, le=1024)
    max_objects_per_image: int = Field(default=50, ge=0)
    min_detection_confidence: float = Field(default=0.3, ge=0.0, le=1.0)

    # Search
    text_cache_size: int = Field(default=1024, ge=0)
    # Sorting by date orders this many best-scoring matches (k itself is capped at 1000 by the API).
    date_sort_pool: int = Field(default=1000, ge=1, le=10_000)
    max_query_chars: int = Field(default=1000, ge=1, le=10_000)  # the API schema's cap

    # API
    api_key: str | None = None
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    cors_origins: str = ""
    max_pending_ingests: int = Field(default=16, ge=1)
    log_json: bool = False

    def resolved_cache_dir(self) -> Path:
        return self.cache_dir
