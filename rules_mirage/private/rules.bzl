"""Bazel rules behind //rules_mirage:defs.bzl.

Same names and keyword parameters as the embedded engine's natives, from
the one schema both engines read (schema.bzl, generated from
generator/src/model/schema.rs). These rules check attribute names
themselves and gather what the generator reads for the `mirage_unikernel`
actions, which run the same generator as the CLI, so both engines resolve
and report alike.

The generator does not evaluate BUILD files under Bazel: Bazel has, and
each declaration hands it the call it made, as the native call of the
embedded engine (`source`), with the BUILD line Bazel recorded. So a macro
in any package, loaded through any chain of .bzl files, needs no input of
its own: an edit that changes a declaration changes the action's inputs.
"""

load("@mirage_plan//:images.bzl", "IMAGES")
load(":providers.bzl", "MirageInfo", "declaration")
load(":release.bzl", _mirage_release = "mirage_release")
load(":schema.bzl", "COMMON", "SCHEMA")
load(":unikernel.bzl", "TARGETS", _mirage_boot_test = "mirage_boot_test", "mirage_image", "mirage_images")

def _condition_impl(target, ctx):
    """A `config_setting` a select() tests: its declaration and its keys."""
    flags = getattr(ctx.rule.attr, "flag_values", None) or {}
    keys = [k[MirageInfo] for k in flags if MirageInfo in k]
    values = {}
    for k, v in flags.items():
        same = k.label.workspace_name == target.label.workspace_name and k.label.package == target.label.package
        values[":" + k.label.name if same else str(k.label)] = v
    call = "config_setting(**%s)" % repr({"flag_values": values, "name": target.label.name})
    own = declaration(target.label, "condition", "", call, getattr(ctx.rule.attr, "generator_location", ""))
    return [MirageInfo(
        declaration = own,
        declarations = depset([own], transitive = [k.declarations for k in keys]),
        files = depset(transitive = [k.files for k in keys]),
        keys = depset(transitive = [k.keys for k in keys]),
        runfiles = depset(transitive = [k.runfiles for k in keys]),
    )]

_condition = aspect(
    implementation = _condition_impl,
    doc = "Reads a select() condition's config_setting: the keys it tests and their values.",
)

_COMMON = {
    "build_file": attr.label(allow_single_file = True, doc = "The package's BUILD file."),
    "conditions": attr.label_list(aspects = [_condition], doc = "The config_settings the declaration's select()s test."),
    "data": attr.label_list(allow_files = True, doc = "Files the generator reads."),
    "run_data": attr.label_list(allow_files = True, doc = "Files an image opens when it runs."),
    "deps": attr.label_list(providers = [MirageInfo], doc = "Every label the declaration names."),
    "kind": attr.string(doc = "What the declaration is: device, match, key, runtime_arg, crate, unikernel."),
    "source": attr.string(doc = "The embedded engine's call that declares it, as Bazel evaluated it."),
    "type": attr.string(doc = "The device type a device or match provides; a runtime arg's value type."),
}

def _merge(ctx, own_keys = []):
    deps = [d[MirageInfo] for d in ctx.attr.deps + ctx.attr.conditions]
    own = declaration(ctx.label, ctx.attr.kind, ctx.attr.type, ctx.attr.source, getattr(ctx.attr, "generator_location", ""))
    return MirageInfo(
        declaration = own,
        declarations = depset([own], transitive = [d.declarations for d in deps]),
        files = depset(
            ctx.files.build_file + ctx.files.data,
            transitive = [d.files for d in deps],
        ),
        keys = depset(own_keys, transitive = [d.keys for d in deps]),
        runfiles = depset(ctx.files.run_data, transitive = [d.runfiles for d in deps]),
    )

def _record_impl(ctx):
    info = _merge(ctx)
    return [info, DefaultInfo(files = info.files)]

_record = rule(
    implementation = _record_impl,
    attrs = _COMMON,
    doc = "A device, choice, runtime arg or crate: what the generator reads for it.",
)

def _key_impl(ctx):
    value = ctx.build_setting_value
    if value and value not in ctx.attr.choices:
        fail("invalid value `%s` for key --%s: expected one of %s" % (
            value,
            ctx.label.name,
            ", ".join(ctx.attr.choices),
        ))
    keys = [(ctx.label.name, value)] if value else []
    info = _merge(ctx, own_keys = keys)
    return [info, DefaultInfo(files = info.files)]

_key = rule(
    implementation = _key_impl,
    build_setting = config.string(flag = True),
    attrs = dict(_COMMON, choices = attr.string_list()),
    doc = "A configure key: a string build setting; empty means the target's default.",
)

def _is_label(v):
    return type(v) == "string" and (v.startswith(":") or v.startswith("//") or v.startswith("@"))

def _select_parts(value):
    """The conditions and the label values of the select()s in `value`.

    Bazel gives a macro no view into a select(), but its repr is the
    Starlark expression as written; this reads the string literals of it:
    those before a `:` in a select's dict are conditions.
    """
    text = repr(value)
    if "select(" not in text:
        return [], []
    conditions, values = [], []
    stack = []
    start = -1  # index of the open string literal's quote, or -1
    escaped = False
    pending = None  # a closed string literal, until the next token says what it was
    for i in range(len(text)):
        c = text[i]
        if start >= 0:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                pending = text[start + 1:i]
                start = -1
            continue
        if c == " ":
            continue
        if pending != None:
            if c == ":" and stack and stack[-1] == "select{":
                if pending != "//conditions:default":
                    conditions.append(pending)
            elif _is_label(pending):
                values.append(pending)
            pending = None
        if c == '"':
            start = i
        elif c == "(":
            stack.append("select(" if text[max(0, i - 6):i] == "select" else c)
        elif c == "{":
            stack.append("select{" if stack and stack[-1] == "select(" else c)
        elif c in ")]}" and stack:
            stack.pop()
        elif c == "[":
            stack.append(c)
    if pending != None and _is_label(pending):
        values.append(pending)
    return conditions, values

def _labels(value):
    """Every label string in an attribute value (string, list or dict
    values, and the branches of select()s)."""
    labels = []
    for v in value.values() if type(value) == "dict" else [value]:
        if type(v) == "list":
            labels += [x for x in v if _is_label(x)]
        elif type(v) == "select":
            labels += _select_parts(v)[1]
        elif _is_label(v):
            labels.append(v)
    return labels

def _paths(value):
    """The paths in an attribute value (string, list or dict values)."""
    if type(value) == "dict":
        return value.values()
    if type(value) == "list":
        return value
    return [value] if value else []

def _package_files(paths):
    """The files at package-relative paths, or under them for directories
    (crunch, tar). By glob: a missing one (a disk image the user makes) is
    the generator's to report, with its BUILD line, when an image needs it."""
    files = []
    for p in paths:
        files += native.glob([p, p + "/**"], allow_empty = True)
    return files

_LABEL_TYPES = ["label", "label_list", "label_dict", "label_keyed_string_dict"]
_PATH_TYPES = ["path", "path_list", "path_dict"]

# Paths the image itself opens when it runs: `bazel run` needs them too.
_RUN_PATH_TYPES = ["run_path_dict"]

def _check(rule, kwargs):
    """Fails on an attribute `rule`'s schema does not have; returns the schema."""
    schema = SCHEMA[rule]
    for a in kwargs:
        if a not in schema and a not in COMMON:
            fail("%s() got an unknown attribute `%s` (known: %s)" % (rule, a, ", ".join(schema.keys())))
    return schema

def _declare(name, rule, kind, kwargs, call_name = None):
    """Checks `kwargs` against `rule`'s schema, then records the declaration.

    Args:
      name: the target's name.
      rule: the rule's function name, a key of SCHEMA.
      kind: what the declaration is, for MirageInfo.
      kwargs: the attributes as written.
      call_name: the name the declaration has for the generator, when the
        target's differs.
    """
    schema = _check(rule, kwargs)
    deps = []
    paths = []
    run_paths = []
    for a, spec in schema.items():
        if spec.type in _LABEL_TYPES:
            for l in _labels(kwargs.get(a)):
                if l not in deps:
                    deps.append(l)
        elif spec.type in _PATH_TYPES:
            paths += _paths(kwargs.get(a))
        elif spec.type in _RUN_PATH_TYPES:
            paths += _paths(kwargs.get(a))
            run_paths += _paths(kwargs.get(a))
    conditions = []
    for c in _select_parts(kwargs)[0]:
        if c not in conditions:
            conditions.append(c)
    common = dict(
        name = name,
        kind = kind,
        type = kwargs.get("type", ""),
        deps = deps,
        conditions = conditions,
        source = "%s(**%s)" % (rule, repr(dict(kwargs, name = call_name or name))),
        data = _package_files(paths),
        run_data = _package_files(run_paths),
        build_file = "BUILD.bazel",
        visibility = kwargs.get("visibility"),
        tags = kwargs.get("tags"),
    )
    if kind == "key":
        _key(build_setting_default = "", choices = kwargs.get("choices", []), **common)
    else:
        _record(**common)

def _given(kwargs, **params):
    """`kwargs` with the macro's own parameters the caller gave (non-empty):
    the call as the embedded engine records it."""
    return dict(kwargs, **{k: v for k, v in params.items() if v})

def mirage_device(name, **kwargs):
    _declare(name, "mirage_device", "device", kwargs)

def mirage_match(name, **kwargs):
    _declare(name, "mirage_match", "match", kwargs)

def mirage_key(name, **kwargs):
    _declare(name, "mirage_key", "key", kwargs)

def mirage_runtime_arg(name, **kwargs):
    _declare(name, "mirage_runtime_arg", "runtime_arg", kwargs)

def mirage_crate(name, srcs = [], **kwargs):
    _declare(name, "mirage_crate", "crate", _given(kwargs, srcs = srcs))

# The package of rules_mirage's platforms and their config settings.
_PLATFORMS = "@rules_mirage//rules_mirage/platforms"

# Targets built by `bazel build //...` when a unikernel lists none; the
# others exist too, tagged manual.
_DEFAULT_TARGETS = ["spt", "unix"]

def mirage_unikernel(name, srcs = [], targets = [], **kwargs):
    """`NAME_TARGET` images, `NAME` (all of them), `NAME_srcs` (its crate).

    Args:
      name: the unikernel's name.
      srcs: its crate's files.
      targets: the targets it supports; all when empty.
      **kwargs: the rest of the declaration, as the generator reads it.
    """
    for t in targets:
        if t not in TARGETS:
            fail("unknown target `%s`: expected one of %s" % (t, ", ".join(TARGETS)))
    visibility = kwargs.get("visibility")
    native.filegroup(name = name + "_srcs", srcs = srcs, visibility = ["//visibility:public"])

    # What loading the cargo workspace needs of this crate: its manifest.
    native.filegroup(
        name = name + "_manifest",
        srcs = [f for f in srcs if f == "Cargo.toml"],
        visibility = ["//visibility:public"],
    )

    _declare(
        name + "_graph",
        "mirage_unikernel",
        "unikernel",
        _given(kwargs, srcs = srcs, targets = targets),
        call_name = name,
    )
    images = []
    by_platform = {}
    for t in TARGETS:
        manual = not (t in targets if targets else t in _DEFAULT_TARGETS)
        pinned = IMAGES.get("//%s:%s %s" % (native.package_name(), name, t), {})
        mirage_image(
            pinned = pinned.get("image", ""),
            units = pinned.get("units", []),
            name = "%s_%s" % (name, t),
            graph = name + "_graph",
            target = t,
            unikernel = name,
            tags = ["manual"] if manual else [],
            # Under a rules_mirage platform, only that target's images.
            target_compatible_with = select({
                _PLATFORMS + ":is_host": [],
                "//conditions:default": [_PLATFORMS + ":target_" + t],
            }),
            visibility = visibility,
        )
        if not manual:
            images.append(":%s_%s" % (name, t))
        if not targets or t in targets:
            by_platform[_PLATFORMS + ":is_" + t] = [":%s_%s" % (name, t)]

    # NAME: its default images, or under --platforms=//rules_mirage/platforms:T
    # its T image (incompatible, so skipped by //..., if it has none).
    mirage_images(
        name = name,
        srcs = select(dict(by_platform, **{_PLATFORMS + ":is_host": images, "//conditions:default": []})),
        target_compatible_with = select(dict(
            {p: [] for p in by_platform},
            **{_PLATFORMS + ":is_host": [], "//conditions:default": [_PLATFORMS + ":incompatible"]}
        )),
        visibility = visibility,
    )

def mirage_release(name, unikernel, targets, **kwargs):
    """`NAME.tar.gz`: the release of `unikernel` for `targets`, as `mirage release` makes it.

    Args:
      name: the release's name.
      unikernel: the `mirage_unikernel` released.
      targets: the targets whose images it holds, in order.
      **kwargs: `args` (the runtime arguments of its OCI images, which the
        generator reads from this BUILD line), `doc`, common attributes.
    """
    _check("mirage_release", dict(kwargs, unikernel = unikernel, targets = targets))
    for t in targets:
        if t not in TARGETS:
            fail("unknown target `%s`: expected one of %s" % (t, ", ".join(TARGETS)))

    # The unikernel's declaration: `NAME_graph` beside it.
    if ":" in unikernel:
        graph = unikernel + "_graph"
    else:
        graph = "%s:%s_graph" % (unikernel, unikernel.rpartition("/")[2])
    _mirage_release(
        name = name,
        graph = graph,
        source = "mirage_release(**%s)" % repr(dict(kwargs, name = name, targets = targets, unikernel = unikernel)),
        targets = targets,
        build_file = "BUILD.bazel",
        visibility = kwargs.get("visibility"),
        tags = kwargs.get("tags"),
    )

def mirage_boot_test(name, image, args = [], expect = [], exit_code = 0, **kwargs):
    """`bazel test`: boots `image` with runtime `args`; checks its output and exit code.

    Args:
      name: the test's name.
      image: a `NAME_TARGET` image of a `mirage_unikernel`.
      args: runtime arguments.
      expect: text the console output must contain.
      exit_code: the exit code the image must end with.
      **kwargs: common test attributes (tags, size, timeout).
    """
    kwargs.setdefault("size", "small")
    _mirage_boot_test(name = name, image = image, args = args, expect = expect, exit_code = exit_code, **kwargs)
