//! Why a photo could not be prepared: too big, too many pixels, not a picture, damaged, or the
//! watermark font unusable. Every message is zh-CN first with English beside it (the app shows it).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhotoError {
    /// The file is larger than the core accepts before decoding anything.
    #[error(
        "照片文件太大（{size} 字节，上限 {max} 字节） / the photo file is too large ({size} bytes, the limit is {max})"
    )]
    TooLarge { size: u64, max: u64 },
    /// The picture's declared size is more pixels than the core decodes (a decompression bomb, or
    /// a panorama far beyond evidence needs).
    #[error("照片像素太多（{width}×{height}，上限 {max_pixels} 像素） / the photo has too many pixels ({width}×{height}, the limit is {max_pixels})")]
    TooManyPixels { width: u32, height: u32, max_pixels: u64 },
    /// Neither JPEG nor PNG by its first bytes.
    #[error("不是照片，只接受 JPEG 或 PNG 图片 / not a photo: only JPEG or PNG pictures are accepted")]
    NotAnImage,
    /// JPEG or PNG by its signature, but the data cannot be decoded.
    #[error("照片已损坏，无法读取（{0}） / the photo is damaged and cannot be read ({0})")]
    Damaged(String),
    /// The font given for the watermark cannot draw its text.
    #[error("水印字体不可用（{0}） / the watermark font cannot be used ({0})")]
    Font(String),
    /// The prepared picture could not be encoded (should not happen with a decoded image).
    #[error("照片无法编码（{0}） / the photo cannot be encoded ({0})")]
    Encode(String),
}
