import pytest
from apiserver_fixtures import make_server


@pytest.fixture
def api():
    """A fresh apiserver with the system namespaces, on a simulated clock."""
    return make_server()
