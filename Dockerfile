# The gateway's production image. Two stages: the first installs every package and compiles
# TypeScript to dist/ (npm run build); the second holds only the compiled JavaScript and the
# production packages, runs as the unprivileged `node` user, and asks /readyz for its health.
#
# Not built in this repository's CI (the build machine has no container engine); kept plain so
# that any builder (docker build, buildah, kaniko) takes it as is:
#   docker build -t bulk-import-gateway .
#   docker run -p 4000:4000 -e MYPREFERENCES_BASE_URL=… -e AUTH_MODE=jwt … bulk-import-gateway

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The embedded store's folder (DATA_DIR=./data), writable by the gateway's user: mount a volume
# here to keep it across containers, or set DATABASE_URL (PostgreSQL; required with replicas).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 4000
# The image has no curl; Node's fetch asks the readiness route (503 while draining, so a
# draining replica is reported unhealthy rather than killed early by a liveness probe: point
# liveness probes at /healthz instead).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1: it handles SIGTERM itself and drains (the README's graceful drain). No npm
# wrapper, which would stand between the signal and the process. The V8 flags are `npm start`'s
# (docs/performance.md, "Issue 29": a young generation capped at 8 MB semi-spaces).
CMD ["node", "--max-semi-space-size=8", "dist/server.js"]
