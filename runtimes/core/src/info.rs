//! The `app_info` device: build information the image can print.

pub use mirage_types::BuildInfo;

/// Build information of this image, from the generated code.
#[derive(Clone, Copy, Debug)]
pub struct AppInfo(&'static BuildInfo);

impl AppInfo {
    /// Connects the device to the generated `INFO`; never fails.
    pub async fn connect(info: &'static BuildInfo) -> Result<AppInfo, core::convert::Infallible> {
        Ok(AppInfo(info))
    }
}

impl mirage_types::Info for AppInfo {
    fn info(&self) -> &'static BuildInfo {
        self.0
    }
}
