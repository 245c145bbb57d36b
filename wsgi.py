"""The WSGI entry of production: `gunicorn wsgi:app` (gunicorn.conf.py). Every setting comes from
the environment (config.ProductionConfig): it refuses to start without its secrets."""

from app import create_app
from config import ProductionConfig

app = create_app(ProductionConfig())
