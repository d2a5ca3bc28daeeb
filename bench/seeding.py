"""What every benchmark's course needs first: a platform and its deployment (the benchmarks add their own
course, people and evidence in bulk)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lti_tool.db.models import Deployment, Platform


def bench_deployment(session: Session) -> Deployment:
    platform = Platform(
        issuer="https://bench.example",
        client_id="bench",
        auth_login_url="https://bench.example/a",
        auth_token_url="https://bench.example/t",
        jwks_url="https://bench.example/j",
    )
    session.add(platform)
    session.flush()
    deployment = Deployment(platform_id=platform.id, deployment_id="1")
    session.add(deployment)
    session.flush()
    return deployment
