"""`mirage_unikernel` under Bazel: one image per target, built by the generator.

Each image is one action that runs `mirage build` in the execution root, as
the CLI does in a checkout: the same generator reads the same BUILD files,
so both engines generate the same main.rs and, from the same crates, the
same image bytes. Cargo runs offline against @mirage_crates.
"""

load(":cargo.bzl", "CARGO_ENV", "cargo_env")
load(":providers.bzl", "MirageInfo")
load(":toolchain.bzl", "RUST_TOOLCHAIN")
load(":units.bzl", "MirageUnitInfo", "unit_inputs")

# rules_mirage's root, whose files the generator reads (`--rules-mirage`):
# this repository's, not @mirage_tools' where the generator builds.
_HOME = Label("//:WORKSPACE.bazel")

SOLO5_TARGETS = ["hvt", "spt", "virtio", "muen", "xen", "qubes"]
TARGETS = ["unix"] + SOLO5_TARGETS

# The attributes of every rule whose action runs the generator: the
# files any configuration reads, the generator, Solo5 and the crates.
GENERATOR_ATTRS = {
    "_implicit": attr.label_list(
        default = [
            "//rules_mirage:block",
            "//rules_mirage:dhcp",
            "//rules_mirage:kv_ro",
            "//rules_mirage:net",
            "//rules_mirage/devices:default_reporter",
            "//runtimes/core:crate",
            "//runtimes/solo5:crate",
            "//runtimes/solo5-mem:crate",
            "//runtimes/types:crate",
            "//runtimes/unix:crate",
            "//toolchains/solo5:crate",
        ],
        providers = [MirageInfo],
    ),
    # The tools come from @mirage_tools (repositories.bzl): their cache keys
    # are the same in every workspace.
    "_mirage": attr.label(default = "@mirage_tools//generator:mirage", executable = True, cfg = "exec"),
    # A tool: its compiler wrapper, ld and elftool link the image, its
    # tenders boot it where `bazel run` and `bazel test` run it. The guest
    # bindings and linker scripts in it are the same in any configuration.
    "_solo5": attr.label(default = "@mirage_tools//rules_mirage/private:solo5", allow_single_file = True, cfg = "exec"),
    "_vendor": attr.label(default = "@mirage_crates//:vendor", allow_files = True),
    "_workspace": attr.label_list(
        default = [
            "//:Cargo.lock",
            "//:Cargo.toml",
            "//:MODULE.bazel",
            "//:WORKSPACE.bazel",
            # What marks a rules_mirage checkout for the generator.
            "//rules_mirage:defs.bzl",
        ],
        allow_files = True,
    ),
}

def image_name(unikernel, target):
    return unikernel if target == "unix" else "%s.%s" % (unikernel, target)

def run_generator(ctx, graph, solo5, outputs, command, arguments, mnemonic, progress_message, files = [], own = []):
    """Runs the generator in the execution root, as the CLI runs in a checkout.

    Args:
      ctx: the context of a rule with GENERATOR_ATTRS.
      graph: the MirageInfo of the unikernel (or release) the command reads.
      solo5: the Solo5 toolchain directory, or None.
      outputs: the action's outputs.
      command: shell run after the prelude; `"$ROOT/$GENERATOR" --rules-mirage
        "$ROOT/$GENERATOR_HOME"` runs the generator, and `$@` holds
        `arguments` followed by the `--setting`s of every key set on Bazel's
        command line.
      arguments: the command's arguments.
      mnemonic: the action's mnemonic.
      progress_message: what Bazel prints while it runs.
      files: more files the command reads.
      own: `declaration()`s beyond the graph's (a release's own).
    """
    implicit = [d[MirageInfo] for d in ctx.attr._implicit]

    # Every key set on Bazel's command line that the graph may read; the
    # generator ignores those its graph has not.
    keys = depset(transitive = [graph.keys] + [i.keys for i in implicit]).to_list()
    settings = ["--setting=%s=%s" % kv for kv in sorted(keys)]

    # The declarations as Bazel evaluated them: the generator reads these
    # instead of evaluating the BUILD files (and what they load) again.
    declared = ctx.actions.declare_file(ctx.label.name + ".declarations.json")
    ctx.actions.write(declared, json.encode([
        {"call": d.call, "location": d.location, "package": d.package}
        for d in depset(own, transitive = [graph.declarations] + [i.declarations for i in implicit]).to_list()
    ]))
    inputs, env = cargo_env(ctx)
    inputs = depset(
        inputs + files + ctx.files._workspace + [ctx.executable._mirage, declared] + ([solo5] if solo5 else []),
        transitive = [graph.files] + [i.files for i in implicit],
    )
    env = dict(env, GENERATOR = ctx.executable._mirage.path, GENERATOR_HOME = _HOME.workspace_root or ".")
    ctx.actions.run_shell(
        inputs = inputs,
        outputs = outputs,
        command = CARGO_ENV + """
export CARGO_TARGET_DIR="$CARGO_HOME/target" MIRAGE_CRATES="$ROOT/$1"
# The execution root is the workspace's root; when rules_mirage is an
# external repository, the workspace's own marker is not an input.
[ -e WORKSPACE.bazel ] || [ -e WORKSPACE ] || [ -e MODULE.bazel ] || : > WORKSPACE.bazel
{solo5}
shift
""".format(solo5 = 'export MIRAGE_CACHE="$ROOT/%s"' % solo5.path if solo5 else "") + command,
        arguments = [ctx.files._vendor[0].path, "--declarations=" + declared.path] + arguments + settings,
        env = env,
        mnemonic = mnemonic,
        progress_message = progress_message,
    )

def _mirage_image_impl(ctx):
    unikernel = ctx.attr.unikernel
    target = ctx.attr.target
    image_file = image_name(unikernel, target)
    out = ctx.label.name + ".out/"
    image = ctx.actions.declare_file(out + "dist/" + image_file)

    # Its DWARF and symbols, split from it (`mirage symbolize`, gdb).
    debug = ctx.actions.declare_file(out + "dist/" + image_file + ".debug")
    main = ctx.actions.declare_file(out + "main.rs")
    run_sh = ctx.actions.declare_file(out + "run.sh")

    # The disks the generator makes (tar archives, blank disks), which
    # run.sh attaches from beside itself.
    disks = ctx.actions.declare_directory(out + "disks")
    info = ctx.attr.graph[MirageInfo]
    solo5 = ctx.file._solo5 if target in SOLO5_TARGETS else None
    label = "//%s:%s" % (ctx.label.package, unikernel)
    dir = "mirage-out/%s/%s/%s" % (ctx.label.package, unikernel, target)
    files = []
    how = ""
    if ctx.attr.pinned:
        # The crates below the generated one are built, one action each
        # (units.bzl); this action compiles the generated crate and links.
        dirs, ids = unit_inputs(ctx.attr.units)
        pinned = ctx.actions.declare_file(ctx.label.name + ".pinned.json")
        ctx.actions.write(pinned, json.encode(dict(
            json.decode(ctx.attr.pinned),
            dirs = {i.split("=")[0]: i.split("=")[1] for i in ids.to_list()},
        )))
        files = [pinned] + dirs.to_list()
        how = "--pinned=" + pinned.path
    run_generator(
        ctx,
        info,
        solo5,
        outputs = [image, debug, main, run_sh, disks],
        files = files,
        command = """
"$ROOT/$GENERATOR" --rules-mirage "$ROOT/$GENERATOR_HOME" build -t {target} {label} {how} "$@" >/dev/null
cp "{dir}/main.rs" "$ROOT/{main}"
cp "{dir}/run.sh" "$ROOT/{run_sh}"
cp "{dir}/dist/{image_file}" "$ROOT/{image}"
cp "{dir}/dist/{image_file}.debug" "$ROOT/{debug}"
if [ -d "{dir}/disks" ]; then cp -R "{dir}/disks/." "$ROOT/{disks}/"; fi
""".format(
            target = target,
            label = label,
            how = how,
            dir = dir,
            main = main.path,
            run_sh = run_sh.path,
            image_file = image_file,
            image = image.path,
            debug = debug.path,
            disks = disks.path,
        ),
        arguments = [],
        mnemonic = "MirageBuild",
        progress_message = "Building %s for %s" % (label, target),
    )
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        launcher,
        """#!/bin/sh
# Boots {label} ({target}) with the generated run script, from the
# runfiles root: the workspace's files the BUILD files name are there.
MIRAGE_ROOT="$PWD" {solo5}exec "{run_sh}" "$@"
""".format(
            label = label,
            target = target,
            solo5 = 'MIRAGE_CACHE="$PWD/%s" ' % solo5.short_path if solo5 else "",
            run_sh = run_sh.short_path,
        ),
        is_executable = True,
    )
    runfiles = ctx.runfiles(
        files = [image, debug, main, run_sh, disks] + ([solo5] if solo5 else []),
        transitive_files = info.runfiles,
    )
    return [
        DefaultInfo(files = depset([image, debug, main, run_sh]), executable = launcher, runfiles = runfiles),
        OutputGroupInfo(main = depset([main]), debug = depset([debug])),
    ]

mirage_image = rule(
    implementation = _mirage_image_impl,
    executable = True,
    attrs = dict({
        "graph": attr.label(providers = [MirageInfo], mandatory = True),
        "pinned": attr.string(doc = "The image as mirage.plan.json pins it (JSON); empty: cargo builds it."),
        "target": attr.string(mandatory = True, values = TARGETS),
        "unikernel": attr.string(mandatory = True),
        "units": attr.label_list(providers = [MirageUnitInfo], doc = "The units its generated crate reads."),
    }, **GENERATOR_ATTRS),
    toolchains = [RUST_TOOLCHAIN],
    doc = "A unikernel image for one target; `bazel run` boots it.",
)

def _mirage_images_impl(ctx):
    return [DefaultInfo(files = depset(transitive = [s[DefaultInfo].files for s in ctx.attr.srcs]))]

mirage_images = rule(
    implementation = _mirage_images_impl,
    attrs = {"srcs": attr.label_list(doc = "Images.")},
    doc = "A unikernel's images: a filegroup that can be incompatible with a platform.",
)

def _mirage_boot_test_impl(ctx):
    image = ctx.attr.image
    run = image[DefaultInfo].files_to_run.executable
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    checks = "\n".join([
        'grep -qF -- %s "$out" || { echo "missing from the output: %s"; exit 1; }' % (
            _shell_quote(e),
            e.replace('"', "'"),
        )
        for e in ctx.attr.expect
    ])
    counts = "\n".join([
        'n=$(grep -cF -- %s "$out"); [ "$n" -eq %d ] || { echo "%s: seen $n times, expected %d"; exit 1; }' % (
            _shell_quote(e),
            ctx.attr.repeat,
            e.replace('"', "'"),
            ctx.attr.repeat,
        )
        for e in ctx.attr.expect
        if ctx.attr.repeat > 1
    ])
    last = ""
    if ctx.attr.silent:
        last = '[ -s "$out" ] && { echo "the console was to stay empty"; exit 1; }'
    elif ctx.attr.last_line:
        last = 'last=$(tail -n 1 "$out"); [ "$last" = %s ] || { echo "last line: $last"; echo "expected: %s"; exit 1; }' % (
            _shell_quote(ctx.attr.last_line),
            ctx.attr.last_line.replace('"', "'"),
        )
    request = ""
    if ctx.attr.request:
        if not ctx.attr.server or not ctx.attr.taps:
            fail("request needs server = True and a tap")
        answers = "\n".join([
            'grep -qF -- %s "$out.answer" || { kill "$pid"; echo "missing from the answer: %s"; exit 1; }' % (
                _shell_quote(r),
                r.replace('"', "'"),
            )
            for r in ctx.attr.response
        ])
        request = "\n".join([
            "# The host's end of the first tap, and one real request.",
            'ip addr add 10.0.0.1/24 dev mtap0 || { kill "$pid"; exit 1; }',
            'curl -si --max-time 10 %s > "$out.answer" 2>&1' % _shell_quote(ctx.attr.request),
            'cat "$out.answer"',
            answers,
        ])
    seen = " && ".join([
        "grep -qF -- %s \"$out\"" % _shell_quote(e)
        for e in ctx.attr.expect
    ]) or "true"
    taps = " ".join(["%s=mtap%d" % (name, i) for i, name in enumerate(ctx.attr.taps)])
    if ctx.attr.server:
        boot = """"{run}" "$@" > "$out" 2>&1 &
pid=$!
# A server: it passes once every expected line is printed, then it stops.
tries={tries}
until {seen}; do
    kill -0 "$pid" 2>/dev/null || {{ cat "$out"; echo "the image ended before printing every expected line"; exit 1; }}
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || {{ kill "$pid"; wait "$pid"; cat "$out"; echo "timed out after {timeout} s"; exit 1; }}
    sleep 0.1
done
{request}
# Still serving when the test stops it: that is how a server passes.
kill "$pid" 2>/dev/null || {{ cat "$out"; echo "the image ended while serving"; exit 1; }}
wait "$pid" 2>/dev/null
code={exit_code}""".format(
            run = run.short_path,
            request = request,
            seen = seen,
            tries = ctx.attr.boot_timeout * 10,
            timeout = ctx.attr.boot_timeout,
            exit_code = ctx.attr.exit_code,
        )
    else:
        boot = """timeout {timeout} "{run}" "$@" > "$out" 2>&1
code=$?""".format(run = run.short_path, timeout = ctx.attr.boot_timeout)
    ctx.actions.write(
        script,
        """#!/bin/sh
# Boots {image} and checks what it prints and how it exits.
taps="{taps}"
if [ -n "$taps" ] && [ -z "$MIRAGE_TEST_NETNS" ]; then
    # Its taps live in a network namespace of the test's own.
    MIRAGE_TEST_NETNS=1 exec unshare --net "$0" "$@"
fi
for t in $taps; do
    ip tuntap add "${{t#*=}}" mode tap && ip link set "${{t#*=}}" up || exit 1
    set -- "--net:$t" "$@"
done
out="${{TEST_TMPDIR:-/tmp}}/console.txt"
# Bazel passes the test's `args`: the image's runtime arguments.
{boot}
cat "$out"
if [ "$code" -ne {exit_code} ]; then
    echo "exit code $code, expected {exit_code}"
    exit 1
fi
{checks}
{counts}
{last}
echo "{image}: booted, exit code {exit_code}, {n} expected line(s) seen"
""".format(
            image = str(image.label),
            taps = taps,
            boot = boot,
            exit_code = ctx.attr.exit_code,
            checks = checks,
            counts = counts,
            last = last,
            n = len(ctx.attr.expect),
        ),
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [run]).merge(image[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

mirage_boot_test = rule(
    implementation = _mirage_boot_test_impl,
    test = True,
    attrs = {
        "boot_timeout": attr.int(default = 60, doc = "Seconds the image may run."),
        "exit_code": attr.int(default = 0, doc = "The exit code the image must end with."),
        "expect": attr.string_list(doc = "Text the console output must contain."),
        "image": attr.label(mandatory = True, executable = True, cfg = "target", doc = "A `NAME_TARGET` image."),
        "last_line": attr.string(doc = "The console's last line, exactly (unchecked if empty)."),
        "repeat": attr.int(default = 1, doc = "How many times each `expect` line must appear, exactly (checked when over 1)."),
        "request": attr.string(doc = "A server's URL to fetch with curl once it is ready (the host's end of the first tap is 10.0.0.1/24)."),
        "response": attr.string_list(doc = "Text the answer to `request` (status line, headers and body) must contain."),
        "server": attr.bool(doc = "The image serves until stopped: pass once every `expect` line is printed (and `request` answered), then stop it; it must still be running."),
        "silent": attr.bool(doc = "The console must stay empty."),
        "taps": attr.string_list(doc = "Solo5 network devices the test attaches to taps of its own, in a network namespace of its own."),
    },
    doc = "Boots an image with its runtime `args` and checks its console output and exit code.",
)
