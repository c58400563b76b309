"""The one way every part builds a google-cloud-bigquery client: the ingest sink, the KV
sync state, the alerts outbox, `oie campaign create`, `oie tune` and `oie report`.

`endpoint` (OIE_BQ_API_ENDPOINT) points at an emulator or a private endpoint, with
anonymous credentials; `keyfile` (OIE_BQ_KEYFILE) is a service-account key file; otherwise
Google's default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default
login, the metadata server). google-cloud-bigquery is the `bigquery` extra, imported only
here and only when a client is built.
"""

from __future__ import annotations

from typing import Any

MISSING_EXTRA = (
    "OIE_TARGET=bigquery needs the bigquery extra: pip install 'outbound-intent-engine[bigquery]'"
)


def bigquery_client(
    project: str | None, endpoint: str | None = None, keyfile: str | None = None
) -> Any:
    """A client for `project`. Raises ImportError without the extra (MISSING_EXTRA says what
    to install) and google.auth's DefaultCredentialsError when no credentials are found."""
    from google.cloud import bigquery

    if endpoint:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    if keyfile:
        return bigquery.Client.from_service_account_json(keyfile, project=project)
    return bigquery.Client(project=project)
