"""The ASGI entry point uvicorn imports (each worker builds its app from the environment)."""

from graph.app import create_app
from graph.settings import load_settings

app = create_app(load_settings())
