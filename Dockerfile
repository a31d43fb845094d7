# customer-context: build with the dev toolchain, run on a slim image. Node 24 is an LTS line
# supported until 2028; the code also runs on Node 20.9+ (package.json engines), where the tests run.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The Flex plugin's build tools (Flex UI's types, React 17) stay in this stage; only its bundle ships.
COPY flex-plugin/package.json flex-plugin/package-lock.json ./flex-plugin/
RUN npm --prefix flex-plugin ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY config ./config
COPY panel ./panel
COPY flex-plugin/src ./flex-plugin/src
COPY flex-plugin/tsconfig.json flex-plugin/vite.config.mts ./flex-plugin/
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
COPY --from=build /app/panel/dist ./panel/dist
COPY --from=build /app/flex-plugin/dist ./flex-plugin/dist
COPY package.json ./
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/main.js"]
