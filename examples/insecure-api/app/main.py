"""A small orders API: the kind of service moat puts a perimeter around."""
import os
import sqlite3

from flask import Flask, jsonify, request

app = Flask(__name__)
DB = os.environ.get("ORDERS_DB", "/data/orders.db")


def db():
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT, qty INTEGER)")
    return conn


@app.get("/healthz")
def health():
    return {"status": "ok"}


@app.get("/orders")
def list_orders():
    rows = db().execute("SELECT id, item, qty FROM orders").fetchall()
    return jsonify([{"id": r[0], "item": r[1], "qty": r[2]} for r in rows])


@app.post("/orders")
def create_order():
    body = request.get_json(force=True)
    conn = db()
    cur = conn.execute("INSERT INTO orders (item, qty) VALUES (?, ?)", (body["item"], int(body["qty"])))
    conn.commit()
    return {"id": cur.lastrowid}, 201


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)
