"""PostgreSQL storage through psycopg 3: the server, the pool, migrations and named queries."""
