# syntax=docker/dockerfile:1
# One image recipe for every service: `docker build --build-arg SERVICE=auth-service .`
# Build stage compiles the TypeScript; the runtime stage carries production dependencies and the
# compiled service only, and runs as the unprivileged `node` user.
# The context holds the workspaces and the root manifests only (.dockerignore), so the build
# compiles those (`npm run build:services`), not the whole repository (`npm run build`).
# `npm test` replays this recipe without a Docker engine (stack/test/images.test.ts): keep to the
# instructions and flags stack/src/images/dockerfile.ts supports, or extend it.

ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
# Every workspace's manifest: without one, `npm ci` leaves that workspace's dependencies out (npm 11
# does so without a word).
COPY package.json package-lock.json ./
COPY service-kit/package.json service-kit/
COPY auth-service/package.json auth-service/
COPY user-service/package.json user-service/
COPY message-service/package.json message-service/
COPY realtime-service/package.json realtime-service/
COPY api-gateway/package.json api-gateway/
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.base.json ./
COPY service-kit service-kit
COPY auth-service auth-service
COPY user-service user-service
COPY message-service message-service
COPY realtime-service realtime-service
COPY api-gateway api-gateway
RUN npm run build:services && npm prune --omit=dev --no-audit --no-fund
# Everything above is shared by all five images; only what follows depends on the service.
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<workspace>" >&2 && exit 1)
# Only what runs: manifests, compiled code and SQL migrations (no sources, no tests).
RUN mkdir -p /out/service-kit "/out/$SERVICE" \
 && cp -r package.json node_modules /out/ \
 && cp -r service-kit/package.json service-kit/dist service-kit/migrations /out/service-kit/ \
 && cp -r "$SERVICE/package.json" "$SERVICE/dist" "/out/$SERVICE/" \
 && if [ -d "$SERVICE/migrations" ]; then cp -r "$SERVICE/migrations" "/out/$SERVICE/"; fi

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG SERVICE
# HOST: every interface of the container; its port stays on the compose network (the services
# default to loopback outside a container, since they trust the gateway's identity headers).
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=build /out ./
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# Exec form through `sh -c` so SIGTERM reaches node (compose adds an init process as PID 1).
CMD ["sh", "-c", "exec node \"$SERVICE/dist/main.js\""]
