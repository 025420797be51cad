# The apigen-streamer image: every `apigen` service of docker-compose.yml runs from it.
# The embedded local model (apigen[local], llama.cpp) is left out: the stack uses LLM
# endpoints (the simulator by default).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY topics ./topics
COPY streamer ./streamer
COPY executors ./executors
RUN pip install . \
    && useradd --create-home --uid 10001 apigen \
    && mkdir -p /data \
    && chown apigen /data

USER apigen
WORKDIR /data
EXPOSE 9464
ENTRYPOINT ["apigen"]
CMD ["--help"]
