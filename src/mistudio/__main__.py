"""`python -m mistudio`: the CLI. An entry point is a composition root, so the domains are registered first."""

from mistudio.cli import app
from mistudio.domains import register_domains

register_domains()
app()
