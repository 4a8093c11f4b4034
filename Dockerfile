# syntax=docker/dockerfile:1
# The one Gatehouse image: every `gatehouse` command (operator, extproc, compile, dev, devproxy). The
# Helm chart runs it as the operator and passes it to DataPlanes for their extproc pods.
#
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: the image
# is the production dependencies plus the sources. No dependency has a native addon (docs/architecture.md#processes-and-the-cli), so
# install scripts are skipped.
#
# The base is pinned by tag. For reproducible production builds pin it by digest as well
# (node:24-slim@sha256:...), and let a bot such as Renovate move the digest.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as package-lock.json pins them. `npm install` rather than
# `npm ci` for the reason .ci/run gives: the lock cannot hold a Windows-only optional dependency of a
# dev tool, and `npm ci` refuses such a lock even with --omit=dev.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY lib ./lib
COPY protos ./protos
COPY operator/src ./operator/src
COPY extproc/src ./extproc/src
COPY devproxy/src ./devproxy/src
# `gatehouse dev` serves examples/ by default.
COPY examples ./examples
# The node image's unprivileged user (uid 1000); the chart runs the pod as 1000 too.
USER 1000:1000
# operator: xDS 18000, metrics 8081. extproc: gRPC 9002, metrics 9003.
EXPOSE 18000 8081 9002 9003
ENTRYPOINT ["node", "bin/gatehouse.js"]
CMD ["--help"]
