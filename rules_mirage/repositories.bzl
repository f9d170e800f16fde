"""Bazel (WORKSPACE mode): the repositories rules_mirage needs.

In a workspace that uses rules_mirage:

    local_repository(
        name = "rules_mirage",
        path = "/path/to/rules_mirage",
    )

    load("@rules_mirage//rules_mirage:repositories.bzl", "rules_mirage_dependencies")

    rules_mirage_dependencies()

Bazel-only: the embedded `mirage` engine never reads this file.
"""

load("//rules_mirage/private:workspace.bzl", _rules_mirage_dependencies = "rules_mirage_dependencies")

rules_mirage_dependencies = _rules_mirage_dependencies
