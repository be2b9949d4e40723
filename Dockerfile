# One image for every role of the project: the fake Stripe server (stripe-sim), the
# reference POSX receiver, the scenario suite and the Locust load tests (posx-harness,
# locust). compose.yaml runs it several times with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Sources are kept in /app too: the scenario suite and the locustfiles are run by path.
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY harness ./harness
COPY scenarios ./scenarios
COPY loadtests ./loadtests
# psycopg's binary wheel: the receiver talks to PostgreSQL with no build tools in the image.
RUN pip install ".[postgres]" \
 && useradd --create-home --uid 10001 posx \
 && mkdir -p /app/reports /data /shared \
 && chown posx /app/reports /data /shared

# Named volumes mounted on /data (simulator state) and /shared (the webhook secret written
# by compose's setup service) start out owned by this user because the folders exist here.
USER posx

# 12111 stripe-sim serve, 8000 posx-harness receiver, 8089 Locust's web UI, 5557 Locust master.
EXPOSE 12111 8000 8089 5557

# Listening on all interfaces inside a container; the control plane then needs a token
# (STRIPE_SIM_CONTROL_TOKEN), which the simulator asks for at start-up.
CMD ["stripe-sim", "serve", "--host", "0.0.0.0", "--port", "12111"]
