"""One module per endpoint, each a function `handle(ctx, req) -> HttpResponse`; the
path table that routes to them is `ingest_function.app.ROUTES`. This file imports nothing.
"""
