"""The websocket close codes of the console proxy, in one place: the proxy closes with them
and the console pages read what to do on each from `for_pages()`, rendered into the page."""

TOKEN_INVALID = 4401
DENIED = 4403
NOT_RUNNING = 4404
SESSION_TOO_LONG = 4408
TOO_MANY = 4409
REVOKED = 4410
TOO_MANY_ATTEMPTS = 4429
NODE_DOWN = 4502
PORT_CHANGED = 4503

# What a page does when the proxy closes with a code: get a fresh token and connect again,
# or stop until the person presses Reconnect. Any other code is a dropped connection, retried.
FRESH_TOKEN = (TOKEN_INVALID, PORT_CHANGED)
STOP = (DENIED, SESSION_TOO_LONG, TOO_MANY, TOO_MANY_ATTEMPTS)


def for_pages():
    return {"fresh_token": FRESH_TOKEN, "stop": STOP, "port_changed": PORT_CHANGED}
