"""A sign-in without a user checks its password against `engine.people.users.DUMMY_HASH`, written out in the
module rather than hashed at import: it must cost what a user's hash costs, or the time of a failed sign-in
tells whether the user exists."""
from werkzeug.security import check_password_hash, generate_password_hash

from engine.people.users import DUMMY_HASH


def test_the_dummy_hash_has_the_method_and_cost_of_a_users_hash():
    # "scrypt:32768:8:1$salt$hash": what comes before the salt is the method and its work factors
    assert DUMMY_HASH.split("$")[0] == generate_password_hash("a-long-password").split("$")[0]
    assert not check_password_hash(DUMMY_HASH, "a-long-password")
