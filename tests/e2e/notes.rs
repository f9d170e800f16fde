//! The notes example: chamelon (a littlefs disk on a block device) under
//! an HTTP service, on spt (the direct stack on a tap) and unix (the
//! socket stack), as curl sees it: a blank disk refused without
//! `--format` and formatted with it; notes put (201), read byte for byte,
//! listed and deleted; every note kept across a restart; and the disk read
//! and written by littlefs-python (the reference C littlefs) both ways;
//! on virtio (QEMU), a note put and read.

use std::path::PathBuf;

use crate::disk::littlefs;
use crate::http::{curl, status};
use crate::network::{Netns, Stack};
use crate::running::{signal_group, Running};
use crate::support::{mirage_ok, repo, sha256, skipped};

const NOTES: &str = "//examples/notes:notes";

/// Held for a whole test: the tests of a target share the disk its build
/// made, and each blanks it first; other targets' tests run meanwhile.
fn own_disk(stack: Stack) -> std::sync::MutexGuard<'static, ()> {
    use std::sync::Mutex;
    static DISKS: [Mutex<()>; 3] = [Mutex::new(()), Mutex::new(()), Mutex::new(())];
    // One per disk(stack): the unix stacks share the unix build's.
    let disk = match stack {
        Stack::UnixDirect | Stack::UnixSocket => &DISKS[0],
        Stack::Spt => &DISKS[1],
        Stack::Virtio => &DISKS[2],
    };
    disk.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
const URL: &str = "http://10.0.0.2:8080/notes";

/// The disk the build made for `stack`'s image (the unix image opens it;
/// `mirage run` attaches it to the Solo5 ones).
fn disk(stack: Stack) -> PathBuf {
    repo().join(format!(
        "mirage-out/examples/notes/notes/{}/disks/storage.img",
        stack.target()
    ))
}

/// The console line that says the notes serve.
const LISTENING: &str = "listening on port 8080";

fn boot(ns: &Netns, stack: Stack, format: bool) -> Running {
    let mut args = vec!["--http-port=8080"];
    if format {
        args.push("--format");
    }
    Running::start(ns, stack, NOTES, &[], &args, LISTENING)
}

/// Builds `label` for `stack` and zeroes `disk`, the disk its build made.
pub(crate) fn build_on_a_blank_disk(stack: Stack, label: &str, disk: PathBuf) {
    let _turn = crate::running::turn(label, stack.target());
    let mut build = vec!["build", "-t", stack.target(), label];
    build.extend(stack.keys());
    mirage_ok(&repo(), &build);
    let file = std::fs::OpenOptions::new().write(true).open(disk).unwrap();
    let size = file.metadata().unwrap().len();
    file.set_len(0).unwrap();
    file.set_len(size).unwrap();
    drop(file);
}

fn keeps_notes(stack: Stack) {
    let _disk = own_disk(stack);
    let ns = Netns::for_stack("notes", stack);
    // A blank disk: refused in one line, formatted with --format.
    build_on_a_blank_disk(stack, NOTES, disk(stack));
    let (code, out) = Running::start(&ns, stack, NOTES, &[], &["--http-port=8080"], "").finish();
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains(
            "the block device holds no littlefs disk \
             (format it with `mirage disk format`, or boot once with --format)"
        ),
        "{out}"
    );
    let notes = boot(&ns, stack, true);
    assert!(notes
        .output()
        .contains("formatted a blank disk of 1024 blocks"));

    // Notes in, byte for byte out; a binary one of 1 MiB.
    let big: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(big_file.path(), &big).unwrap();
    let big_arg = format!("@{}", big_file.path().display());
    for (name, body) in [
        ("first", "one"),
        ("2026/Dec/04.txt", "nested"),
        ("gone", "x"),
    ] {
        let url = format!("{URL}/{name}");
        assert_eq!(
            status(&ns, &["-X", "PUT", "--data-binary", body, &url]),
            "201"
        );
    }
    // A note is dated when it is set (today's date, UTC; the day before
    // or after the PUT is accepted too, in case midnight passes).
    let today = || {
        let out = std::process::Command::new("date")
            .args(["-u", "+%a, %d %b %Y"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let before = today();
    let head = curl(
        &ns,
        &["-D", "-", "-o", "/dev/null", &format!("{URL}/first")],
    )
    .stdout;
    let head = String::from_utf8(head).unwrap();
    let days = [before, today()];
    assert!(
        head.lines().any(
            |l| l.starts_with("Last-Modified: ") && days.iter().any(|d| l.contains(d.as_str()))
        ),
        "{head}"
    );
    let url = format!("{URL}/big.bin");
    assert_eq!(
        status(&ns, &["-X", "PUT", "--data-binary", &big_arg, &url]),
        "201"
    );
    assert_eq!(curl(&ns, &[&url]).stdout, big);
    let url = format!("{URL}/gone");
    assert_eq!(status(&ns, &["-X", "DELETE", &url]), "204");
    assert_eq!(status(&ns, &[&url]), "404");
    let list = String::from_utf8(curl(&ns, &[&format!("{URL}/")]).stdout).unwrap();
    assert_eq!(list, "2026/Dec/04.txt\nbig.bin\nfirst\n");

    // A restart on the same disk, without --format: everything kept.
    drop(notes);
    let notes = boot(&ns, stack, false);
    assert_eq!(
        curl(&ns, &[&format!("{URL}/2026/Dec/04.txt")]).stdout,
        b"nested"
    );
    assert_eq!(curl(&ns, &[&format!("{URL}/big.bin")]).stdout, big);
    assert_eq!(status(&ns, &[&format!("{URL}/gone")]), "404");
    drop(notes);

    // The reference littlefs reads what the image wrote, and the image
    // what it wrote.
    let disk = disk(stack);
    let disk = disk.to_str().unwrap();
    let Some(listing) = littlefs(&["list", disk]) else {
        return skipped(
            &format!("notes::littlefs_python_interop on {}", stack.target()),
            "littlefs-python is not installed (scripts/setup.sh installs it with SETUP_PEERS=1)",
        );
    };
    assert!(
        listing.contains(&format!("big.bin {} {}\n", big.len(), sha256(&big))),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("2026/Dec/04.txt 6 {}\n", sha256(b"nested"))),
        "{listing}"
    );
    let note = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(note.path(), b"from littlefs-python").unwrap();
    littlefs(&["put", disk, "py/note.txt", note.path().to_str().unwrap()]).unwrap();
    let _notes = boot(&ns, stack, false);
    assert_eq!(
        curl(&ns, &[&format!("{URL}/py/note.txt")]).stdout,
        b"from littlefs-python"
    );
}

#[test]
fn notes_keep_on_spt() {
    keeps_notes(Stack::Spt);
}

#[test]
fn notes_keep_on_unix_sockets() {
    keeps_notes(Stack::UnixSocket);
}

/// virtio (QEMU, TCG) formats its disk and serves a note.
#[test]
fn notes_serve_a_put_and_a_get_on_virtio() {
    let _disk = own_disk(Stack::Virtio);
    let ns = Netns::for_stack("notes", Stack::Virtio);
    let _notes = boot(&ns, Stack::Virtio, true);
    let url = format!("{URL}/virtio/first");
    assert_eq!(
        status(&ns, &["-X", "PUT", "--data-binary", "on virtio", &url]),
        "201"
    );
    assert_eq!(curl(&ns, &[&url]).stdout, b"on virtio");
}

/// Every process of process group `group`, with the descriptors it holds
/// open on `file`.
fn holding(group: u32, file: &std::path::Path) -> Vec<(u32, Vec<u32>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces.
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        if after.split_whitespace().nth(2) != Some(group.to_string().as_str()) {
            continue;
        }
        let fds = std::fs::read_dir(entry.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|to| to == file))
            .filter_map(|fd| fd.file_name().to_string_lossy().parse().ok())
            .collect();
        found.push((pid, fds));
    }
    found
}

/// A PUT's 201 comes after the disk was flushed to stable storage: strace,
/// attached to everything `mirage run` started, sees `fdatasync` on the
/// disk's descriptor succeed while the PUT is served (spt: the Solo5
/// patch's flush through the tender's seccomp filter; unix: the image's
/// own; virtio: QEMU, which keeps no write cache for Solo5's driver).
fn a_put_is_flushed_before_its_201(stack: Stack) {
    let what = format!(
        "notes::a_put_is_flushed_before_its_201 on {}",
        stack.target()
    );
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        return skipped(
            &what,
            "strace is not installed (scripts/setup.sh installs it with SETUP_PEERS=1)",
        );
    }
    let _disk = own_disk(stack);
    let ns = Netns::for_stack("durable", stack);
    build_on_a_blank_disk(stack, NOTES, disk(stack));
    let notes = boot(&ns, stack, true);
    let file = disk(stack).canonicalize().unwrap();
    let procs = holding(notes.group(), &file);
    let fds: Vec<u32> = procs.iter().flat_map(|(_, fds)| fds.clone()).collect();
    assert!(
        !fds.is_empty(),
        "no process holds {}: {procs:?}",
        file.display()
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    let errors = tempfile::NamedTempFile::new().unwrap();
    let mut strace = std::process::Command::new("strace");
    strace
        .args(["-f", "-e", "trace=fdatasync,fsync", "-o"])
        .arg(log.path());
    for (pid, _) in &procs {
        strace.arg("-p").arg(pid.to_string());
    }
    let mut strace = strace.stderr(errors.reopen().unwrap()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !procs.iter().all(|(pid, _)| {
        std::fs::read_to_string(errors.path())
            .unwrap_or_default()
            .contains(&format!("Process {pid} attached"))
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "strace did not attach"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("{URL}/durable");
    assert_eq!(
        status(&ns, &["-X", "PUT", "--data-binary", "kept", &url]),
        "201"
    );
    let _ = std::process::Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status();
    let _ = strace.wait();
    let calls = std::fs::read_to_string(log.path()).unwrap();
    // strace pads the call to a column: `PID fdatasync(FD)   = 0`.
    let flushed = calls.lines().any(|line| {
        line.trim_end().ends_with("= 0")
            && fds.iter().any(|fd| {
                line.contains(&format!("fdatasync({fd})")) || line.contains(&format!("fsync({fd})"))
            })
    });
    assert!(
        flushed,
        "no fdatasync on {} (descriptors {fds:?}) during the PUT:\n{calls}",
        file.display()
    );
    println!("{what}: the disk was flushed while the PUT was served");
}

#[test]
fn a_put_is_flushed_before_its_201_on_spt() {
    a_put_is_flushed_before_its_201(Stack::Spt);
}

#[test]
fn a_put_is_flushed_before_its_201_on_unix_sockets() {
    a_put_is_flushed_before_its_201(Stack::UnixSocket);
}

#[test]
fn a_put_is_flushed_before_its_201_on_virtio() {
    a_put_is_flushed_before_its_201(Stack::Virtio);
}

/// Reads back every note `acks` lists (`201 N`), in one keep-alive
/// connection; how many there are.
fn every_acknowledged_note_is_there(ns: &Netns, acks: &std::path::Path, cuts: usize) -> usize {
    let acks = std::fs::read_to_string(acks).unwrap();
    let numbers: Vec<&str> = acks
        .lines()
        .map(|l| l.strip_prefix("201 ").expect("only 201 lines are kept"))
        .collect();
    if numbers.is_empty() {
        return 0;
    }
    let urls: Vec<String> = numbers.iter().map(|n| format!("{URL}/n/{n}")).collect();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let got = String::from_utf8(curl(ns, &args).stdout).unwrap();
    let want: String = numbers.iter().map(|n| format!("note {n}")).collect();
    assert_eq!(
        got, want,
        "after {cuts} cuts, the acknowledged notes read back"
    );
    numbers.len()
}

/// The notes' kill -9 loop: a client PUTs numbered notes while the spt
/// tender is killed with SIGKILL after a pseudo-random delay (a fixed
/// seed), `cuts` times; after each restart on the same disk every note
/// that got its 201 reads back byte for byte, and at the end `mirage disk
/// check` passes. bench/ runs the same loop longer.
fn survives_kills(stack: Stack, cuts: usize) {
    let _disk = own_disk(stack);
    let ns = Netns::for_stack("kill9", stack);
    build_on_a_blank_disk(stack, NOTES, disk(stack));
    let acks = tempfile::NamedTempFile::new().unwrap();
    let acks_path = acks.path().display().to_string();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = 0usize;
    for cut in 0..cuts {
        // The first boot formats the blank disk; the restarts are what a
        // deployment does after a crash: run.sh again, no build.
        let notes = match cut {
            0 => boot(&ns, stack, true),
            _ => Running::start_built(&ns, stack, NOTES, &["--http-port=8080"], LISTENING),
        };
        every_acknowledged_note_is_there(&ns, acks.path(), cut);
        // A client writing notes, from `next` on, logging each 201, in a
        // process group of its own.
        let mut writer = ns.command("sh");
        writer.arg("-c").arg(format!(
            "for n in $(seq {next} {end}); do \
             code=$(curl -s -m 5 -o /dev/null -w '%{{http_code}}' -X PUT --data-binary \"note $n\" {URL}/n/$n) || exit 0; \
             [ \"$code\" = 201 ] && echo \"201 $n\" >> {acks_path}; done",
            end = next + 10_000,
        ));
        std::os::unix::process::CommandExt::process_group(&mut writer, 0);
        let mut writer = writer.spawn().unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(std::time::Duration::from_millis(50 + seed % 400));
        notes.kill_hard();
        // The request in flight has no answer to wait for (its curl would
        // wait out -m 5): the client goes too; a 201 it had not logged
        // yet is only a note the check does not ask for.
        signal_group(writer.id(), "KILL");
        let _ = writer.wait();
        next += 10_001;
    }
    let notes = boot(&ns, stack, false);
    let acked = every_acknowledged_note_is_there(&ns, acks.path(), cuts);
    drop(notes);
    let check = mirage_ok(&repo(), &["disk", "check", disk(stack).to_str().unwrap()]);
    println!(
        "notes: {cuts} SIGKILLs, {acked} acknowledged notes all read back; {}",
        check.stdout.trim()
    );
}

/// 100 SIGKILLs here, `$MIRAGE_KILL_CUTS` otherwise: bench/notes_kill.sh
/// runs 1,000.
#[test]
fn acknowledged_notes_survive_kill_9_on_spt() {
    let cuts = std::env::var("MIRAGE_KILL_CUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    survives_kills(Stack::Spt, cuts);
}
