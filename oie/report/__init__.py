"""`oie report`: one self-contained HTML page of the warehouse (docs/report.md).

One job per module: `source` opens the warehouse (DuckDB read-only, or BigQuery) and runs
SQL; `queries` holds the SQL, one text for both engines; `model` turns rows into the page's
data; `charts` renders Vega-Lite specs to inline SVG; `render` writes the page with Jinja2;
`serve` serves it on 127.0.0.1, rebuilt on every reload; `build` ties them together.
"""
