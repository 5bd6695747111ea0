# helm-drift-exporter container image. See docs/container-image.md.
#
#   docker build -t helm-drift-exporter:$(node -p 'require("./package.json").version') .
#
# Base images are pinned to an exact Node.js release, the same one the project pins as its
# `node` devDependency (test/integration/image.test.ts checks that they agree). The release
# pipeline should also pin the digest (node:24.21.0-bookworm-slim@sha256:...): no container
# registry is reachable from where this file was written, so the digest could not be looked up.

# Compile TypeScript to dist/ with the full (dev) dependency tree.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install script in the tree is the `node` devDependency's, which
# downloads a second Node 24 binary; this image already has that Node, so it is not needed.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc directly with the image's node: `npm run build` would resolve `node` to the
# devDependency's binary, which --ignore-scripts did not install.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# Production dependencies only: no typescript, eslint, prettier or `node` package.
FROM node:24.21.0-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has an install script or native addon (package-lock.json marks
# none with hasInstallScript), so --ignore-scripts changes nothing but closes the door.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: package.json (dist/version.js reads ../package.json), production node_modules, dist.
FROM node:24.21.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# `helm-drift-exporter` on PATH, for `kubectl exec deploy/<exporter> -- helm-drift-exporter diagnose ...`
# (dist/cli/main.js starts with `#!/usr/bin/env node`).
RUN chmod 0755 dist/cli/main.js && ln -s /app/dist/cli/main.js /usr/local/bin/helm-drift-exporter
# Numeric non-root user (the distroless "nonroot" ids) so runAsNonRoot can verify it. The app
# writes nothing to disk, so the root filesystem can be mounted read-only.
USER 65532:65532
EXPOSE 9877
# A small young generation: V8 sizes it from the machine's memory, which made RSS twice the
# live heap (docs/benchmark.md). Scavenges stay cheap at this size.
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/cli/main.js"]
CMD ["serve"]
