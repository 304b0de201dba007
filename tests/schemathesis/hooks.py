"""Checks scripts/fuzz-api adds to schemathesis's own (loaded through schemathesis.toml)."""

import json

import schemathesis

PROBLEM_FIELDS = {"type": str, "title": str, "status": int, "detail": str}


@schemathesis.check
def error_is_problem_json(ctx, response, case):
    """Every error, documented or not, is an RFC 9457 problem+json whose status is the response's."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.split(";")[0].strip().lower() != "application/problem+json":
        raise AssertionError(f"a {response.status_code} answered with Content-Type {content_type!r}, not application/problem+json")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"a {response.status_code} problem is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"a {response.status_code} problem is not a JSON object")
    for field, kind in PROBLEM_FIELDS.items():
        if not isinstance(body.get(field), kind):
            raise AssertionError(f"a {response.status_code} problem lacks {field!r} of type {kind.__name__}")
    if body["status"] != response.status_code:
        raise AssertionError(f"a {response.status_code} problem says status {body['status']}")
    return None

