"""The ASGI entry point uvicorn imports (each worker builds its app from the environment)."""

from graph.app import create_app
from graph.logs import redact_access_log
from graph.settings import load_settings

# uvicorn has configured its loggers by the time it imports this module, in every worker.
redact_access_log()

app = create_app(load_settings())
