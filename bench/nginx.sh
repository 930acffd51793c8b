#!/bin/sh
# nginx as the native HTTP baseline: one process (no master, one worker's
# worth of work), its own config in a temp dir, access log off. Prints the
# port it listens on, then becomes nginx (exec: the pid the benchmark
# samples is nginx's).
#
#   sh bench/nginx.sh [STATIC_DIR]   '/' answers "Hello, World!", /route<n>/<id> a line
#                                    (the Application row); /static/ serves STATIC_DIR
set -eu
dir=$(mktemp -d /tmp/pants-nginx.XXXXXX)
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
static=${1:-$dir}
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
error_log stderr error;
pid $dir/nginx.pid;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  sendfile on;
  tcp_nodelay on;
  default_type application/octet-stream;
  client_body_temp_path $dir;
  server {
    listen 127.0.0.1:$port;
    location = / { default_type text/plain; return 200 "Hello, World!\n"; }
    location ~ ^/route[0-9]+/[0-9]+$ { default_type text/plain; return 200 "route item\n"; }
    location /static/ { alias $static/; }
  }
}
CONF
echo "$port"
exec nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off; master_process off;'
