# syntax=docker/dockerfile:1

# Build: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Production dependencies only. No install scripts: sharp ships its binaries in npm packages, and the
# optional node-canvas (RENDERER=lottie-web) is left unbuilt, so the image runs the default renderer and
# refuses RENDERER=lottie-web at start-up with a message (build it with the Cairo -dev packages to use it).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
# ffmpeg converts video (WebM) stickers; without it those conversions answer 501.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY preview ./preview
COPY docker/healthcheck.js ./docker/healthcheck.js
# The disk tier's directory, owned by the user the service runs as (a volume mounted here inherits it).
RUN mkdir -p /var/cache/sticker-processor && chown node:node /var/cache/sticker-processor
ENV SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8081 \
    DISK_CACHE_DIR=/var/cache/sticker-processor
USER node
EXPOSE 8081
# Liveness only: /health touches no dependency.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "docker/healthcheck.js"]
# The primary forwards SIGTERM to its workers and waits for them to close.
CMD ["node", "dist/src/main.js"]
