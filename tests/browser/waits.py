"""Waiting on the page without `page.wait_for_function`.

Playwright runs a string predicate through `eval` inside the page, which the portal's strict
Content-Security-Policy (no 'unsafe-eval') refuses. `page.evaluate` goes through the browser's
debugging protocol instead, which the policy does not govern, so polling with it is safe.
"""

import time


def wait_until(page, expression: str, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {expression}")
        page.wait_for_timeout(50)
