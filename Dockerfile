# The Kakehashi service image: the page and the API on port 8000, state in /var/lib/kakehashi.
# On first start it serves at once and, in the background, loads the fictional demo corpus and
# indexes it from the shipped, verified demo vectors (about 10 s on 2 cores); mount a volume at
# /var/lib/kakehashi to keep the store and index versions.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    KAKEHASHI_DATA_DIR=/var/lib/kakehashi

WORKDIR /app
# torch first, pinned: pass --build-arg TORCH_INDEX_URL=<PyTorch CPU wheel index> for a small image.
ARG TORCH_INDEX_URL=""
RUN pip install torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}

COPY pyproject.toml README.md ./
COPY kernel ./kernel
COPY indexer ./indexer
COPY service ./service
COPY data ./data
# a regular (not editable) install: the data travels in the package, /app is not needed at run time
RUN pip install . && rm -rf /app/build && useradd --system --home /app kakehashi \
    && mkdir -p /var/lib/kakehashi && chown kakehashi /var/lib/kakehashi

USER kakehashi
VOLUME /var/lib/kakehashi
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["kakehashi", "serve", "--host", "0.0.0.0", "--port", "8000"]
