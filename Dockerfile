# One image for every role (web, worker, scheduler); docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY publisher ./publisher
COPY workers ./workers
COPY templates ./templates
RUN pip install --no-cache-dir -e . && useradd --system --home /app publisher && \
    mkdir -p /data && chown publisher /data
USER publisher
ENV PUBLISHER_DATA_DIR=/data PUBLISHER_OUTBOX_DIR=/data/outbox
EXPOSE 8000
CMD ["publisher", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
