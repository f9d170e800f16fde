//! `netif` on unix: a host tap interface through `/dev/net/tun`.
//!
//! The interface comes from `$MIRAGE_NET_<NAME>` (which `mirage run --tap
//! NAME=TAP` sets), else `tap0`, as Mirage's unix target defaults. The fd is
//! non-blocking; readiness comes from the platform's `ppoll`.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;

use mirage_types::NetError;

/// A tap interface.
#[derive(Clone, Debug)]
pub struct Tap {
    file: Rc<File>,
    mac: [u8; 6],
}

#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl Tap {
    /// Opens the tap interface for device `name`.
    pub async fn connect(name: &'static str) -> Result<Tap, String> {
        let var = format!("MIRAGE_NET_{}", name.to_uppercase());
        let ifname = std::env::var(&var).unwrap_or_else(|_| "tap0".to_owned());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun")
            .map_err(|e| format!("network device {name}: /dev/net/tun: {e}"))?;
        let mut req = IfReq {
            name: [0; 16],
            flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
            _pad: [0; 22],
        };
        let bytes = ifname.as_bytes();
        if bytes.len() >= req.name.len() {
            return Err(format!(
                "network device {name}: interface name {ifname:?} is too long"
            ));
        }
        req.name[..bytes.len()].copy_from_slice(bytes);
        // SAFETY: TUNSETIFF reads a valid, NUL-terminated ifreq.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("network device {name}: tap {ifname}: {e}"));
        }
        // A locally administered address, stable per interface name.
        let mut mac = [0x02, 0x00, 0, 0, 0, 0];
        for (i, b) in ifname.bytes().enumerate() {
            mac[2 + i % 4] ^= b;
        }
        Ok(Tap {
            file: Rc::new(file),
            mac,
        })
    }
}

impl mirage_types::Net for Tap {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        1500
    }

    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        match (&*self.file).read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(NetError::Device(e.to_string())),
        }
    }

    fn readable(&self) -> impl Future<Output = ()> {
        crate::readable(self.file.as_raw_fd())
    }

    fn write(&self, frame: &[u8]) -> Result<(), NetError> {
        (&*self.file)
            .write_all(frame)
            .map_err(|e| NetError::Device(e.to_string()))
    }
}
