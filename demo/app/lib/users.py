"""A tiny in-memory store for the demo (module state starts fresh on reload)."""

USERS = {
    "1": {"id": "1", "name": "Ada Lovelace", "role": "admin"},
    "2": {"id": "2", "name": "Grace Hopper", "role": "editor"},
    "3": {"id": "3", "name": "Alan Turing", "role": "viewer"},
}


def all_users():
    return list(USERS.values())


def find_user(user_id):
    return USERS.get(user_id)
