#!/bin/sh
# How the orders API was deployed by hand before compose: one `docker run` with the same
# mistakes as compose.yaml. See ../secure-api/deploy.sh for the hardened twin.
set -e

docker build -t orders-api .
docker rm -f orders-api 2>/dev/null || true
docker run -d --name orders-api \
  --privileged \
  --cap-add SYS_ADMIN \
  -u root \
  -p 8080:8080 \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -e DATABASE_URL=postgres://orders:s3cr3t-pa55@db.orders.internal:5432/orders \
  -e SECRET_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0 \
  --restart always \
  orders-api:latest
