"""A client that commits through the load balancer without pause and writes down every commit the
server acknowledged, for the failover check and the failover benchmark.

    writer.py --dsn DSN --table T --out FILE --stop-file F [--start N]

Each transaction is one autocommit `INSERT INTO T (seq) VALUES (n) RETURNING inet_server_addr()`;
when the server answers, the line `n <unix time> <server address>` is appended to FILE and
flushed, so the file holds exactly the acknowledged commits. A failed statement or connection
(the primary died, the load balancer cut the session) is written as `ERR <time> <message>`; the
writer then reconnects and goes on with the next number (the failed one may or may not have
been committed: it was never acknowledged, so it counts for nothing). It stops when the stop
file appears.
"""

import argparse
import os
import sys
import time

import psycopg


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dsn", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--start", type=int, default=1)
    a = p.parse_args()
    seq = a.start
    conn = None
    insert = f"INSERT INTO {a.table} (seq) VALUES (%s) RETURNING host(inet_server_addr())"
    with open(a.out, "a", buffering=1) as out:
        while not os.path.exists(a.stop_file):
            try:
                if conn is None:
                    conn = psycopg.connect(a.dsn, autocommit=True, connect_timeout=2)
                row = conn.execute(insert, (seq,)).fetchone()
                out.write(f"{seq} {time.time():.3f} {row[0]}\n")
                seq += 1
            except psycopg.Error as e:
                msg = " ".join(str(e).split())[:200]
                out.write(f"ERR {time.time():.3f} {msg}\n")
                seq += 1
                if conn is not None:
                    try:
                        conn.close()
                    except psycopg.Error:
                        pass
                conn = None
                time.sleep(0.05)
    if conn is not None:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
