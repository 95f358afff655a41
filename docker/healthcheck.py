"""Container HEALTHCHECK: exit 0 when the server in this container reports ready, 1 otherwise.

Standard library only (the image has no curl); the port comes from the same setting the server reads.
"""

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("MODEL_SERVER_PORT", "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
