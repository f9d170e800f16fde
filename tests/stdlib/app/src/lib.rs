//! Uses every standard device once, plus a device of its own, and prints
//! what it observed.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use mirage_types::{Console, Info, MonotonicClock, PosixClock, Random, Time};

/// A device type of this crate: a voice, chosen by the `--loud` key.
#[derive(Clone, Debug)]
pub struct Voice {
    word: &'static str,
    loud: bool,
}

impl Voice {
    /// Connects a voice saying `word`; `loud` is the configure key's value.
    pub async fn connect(word: &'static str, loud: bool) -> Result<Voice, core::convert::Infallible> {
        Ok(Voice { word, loud })
    }
}

/// The devices' observations, one line each.
#[allow(clippy::too_many_arguments)]
pub async fn start<T, M, P, R, C, I, A, B>(
    time: T,
    mclock: M,
    pclock: P,
    random: R,
    console: C,
    info: I,
    voice: Voice,
    a: A,
    b: B,
) -> Result<(), C::Error>
where
    T: Time,
    M: MonotonicClock,
    P: PosixClock,
    R: Random,
    C: Console,
    I: Info,
    A: Console<Error = C::Error>,
    B: Console<Error = C::Error>,
{
    let before = mclock.elapsed_ns();
    time.sleep_ns(20_000_000).await;
    let slept = mclock.elapsed_ns() - before;
    let mut bytes = [0u8; 32];
    random.generate(&mut bytes);
    let (days, _) = pclock.now_d_ps();
    let info = info.info();
    let lines: [String; 5] = [
        format!("slept at least 20 ms: {}", slept >= 20_000_000),
        format!("random bytes vary: {}", bytes.iter().any(|b| *b != bytes[0])),
        // 19723 days after the epoch is 2024-01-01.
        format!("clock after 2024: {}", days >= 19_723),
        format!("info: {} {} {:?}", info.label, info.target, info.keys),
        format!("voice: {} (loud={})", voice.word, voice.loud),
    ];
    for line in lines {
        console.write(format!("{line}\n").as_bytes()).await?;
    }
    a.write(b"console a\n").await?;
    b.write(b"console b\n").await
}
