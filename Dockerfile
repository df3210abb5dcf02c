# syntax=docker/dockerfile:1
# PolicyPoint PDP: `pdp serve` on gRPC (HTTP/2 cleartext) port 50051.
#   docker build -t policypoint/pdp .
#   docker run --rm -p 50051:50051 -v "$PWD/rego:/policy:ro" -e PDP_DB="Host=...;Username=...;Password=..." policypoint/pdp
# docker-compose.yml runs it with PostgreSQL, separate migration and least-privilege database roles.

# ---- build: restore first (cached while only sources change), then publish framework-dependent ----
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Pdp/Pdp.csproj src/Pdp/
COPY src/Pdp.Rego/Pdp.Rego.csproj src/Pdp.Rego/
COPY src/Pdp.Client/Pdp.Client.csproj src/Pdp.Client/
RUN dotnet restore src/Pdp/Pdp.csproj
COPY proto/ proto/
COPY src/ src/
RUN dotnet publish src/Pdp/Pdp.csproj -c Release --no-restore -o /app /p:UseAppHost=false

# ---- runtime: ASP.NET Core runtime only, non-root ----
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl for the container health check (GET /healthz over HTTP/2 cleartext on the gRPC port).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/pdp/spool \
 && chown -R "$APP_UID" /var/lib/pdp
WORKDIR /app
COPY --from=build /app ./
# The image's built-in unprivileged user (APP_UID, 1654); nothing in /app is writable by it.
USER $APP_UID
ENV PDP_LISTEN=0.0.0.0:50051 \
    PDP_POLICY=/policy \
    PDP_SPOOL=/var/lib/pdp/spool \
    DOTNET_gcServer=0
# The spool must survive restarts: records written there while PostgreSQL was down are replayed from it.
VOLUME ["/var/lib/pdp/spool"]
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl --http2-prior-knowledge -fsS -o /dev/null http://127.0.0.1:50051/healthz || exit 1
ENTRYPOINT ["dotnet", "/app/pdp.dll"]
CMD ["serve"]
