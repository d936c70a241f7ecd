"""Service identity, readiness and the class list."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pixseek import __version__
from pixseek.api import engine_calls
from pixseek.api.deps import DOCUMENT_API_KEY, ReadyEngine, State, run_engine
from pixseek.api.errors import error_responses
from pixseek.api.schemas import ClassesResponse, HealthResponse, ServiceInfo, TagsResponse, tags_response

router = APIRouter(tags=["system"])


@router.get("/", response_model=ServiceInfo, summary="Service name, status and version")
async def root(state: State) -> ServiceInfo:
    return ServiceInfo(service="pixseek", status=state.status, version=__version__)


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Readiness: 200 once the models are loaded and warm and the store answers, else 503",
    responses={503: {"model": HealthResponse, "description": "Not ready (yet)"}},
)
async def health(state: State, response: Response) -> HealthResponse:
    report = HealthResponse(
        status=state.status,
        ready=state.ready,
        version=__version__,
        api_key_required=state.settings.api_key is not None,
        error=state.error,
    )
    engine = state.engine
    if state.ready and engine is not None:
        report.model_pack = engine.pack.info.model_id
        report.cache = engine_calls.cache_status(engine)
        try:
            report.store = await run_engine(engine_calls.store_status, engine)
        except Exception as exc:  # a store that does not answer makes the service unready
            report.ready, report.error = False, f"store unavailable: {exc}"
    if not report.ready:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
    return report


@router.get(
    "/classes",
    response_model=ClassesResponse,
    summary="The object classes the detector knows (for filters)",
    responses=error_responses(401, 503),
    dependencies=[DOCUMENT_API_KEY],
)
async def classes(engine: ReadyEngine) -> ClassesResponse:
    return ClassesResponse(classes=list(engine.pack.info.class_names))


@router.get(
    "/tags",
    response_model=TagsResponse,
    summary="Every tag in the library, most used first (for filters)",
    responses=error_responses(401, 503),
    dependencies=[DOCUMENT_API_KEY],
)
async def tags(engine: ReadyEngine) -> TagsResponse:
    """With OpenSearch as the store, the 10,000 most used."""
    return tags_response(await run_engine(engine.search.tags))
