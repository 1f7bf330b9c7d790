//! The rules of a remote wipe's report (docs/sync-protocol.md, "Remote wipe"): it is the
//! reporting device's own, every figure within its bounds (`WipeReport::check`), and signed with
//! a key the device registered at enrolment. Storage then records it against the device's
//! standing order (storage/wipes.rs).

use gridbook_core::evidence::{from_hex, verify_message};
use gridbook_core::sync::wire::WipeReportRequest;

use super::auth::DeviceAuth;
use super::error::DomainError;

/// Checks `request` from `device`, whose registered public keys (hex) are `keys`.
pub fn check_report(device: &DeviceAuth, request: &WipeReportRequest, keys: &[String]) -> Result<(), DomainError> {
    let report = &request.report;
    if report.device_id != device.device_id {
        return Err(DomainError::invalid(format!(
            "device_id: 报告的设备与令牌的设备不符 / the report names device {}, the token is of another",
            report.device_id.chars().take(64).collect::<String>()
        )));
    }
    report.check().map_err(|why| DomainError::invalid(format!("report: 清除报告的数字超出范围 / {why}")))?;
    let signature = from_hex::<64>(request.signature.trim()).map_err(|_| {
        DomainError::invalid("signature: 签名须为 128 位十六进制 / an Ed25519 signature is 128 hex digits")
    })?;
    let message = report.signed_message();
    let verified = keys
        .iter()
        .filter_map(|k| from_hex::<32>(k).ok())
        .any(|key| verify_message(&key, &message, &signature).is_ok());
    if !verified {
        return Err(DomainError::invalid(
            "signature: 签名与本设备登记的密钥不符 / the signature does not verify under this device's registered key",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::evidence::{to_hex, DeviceKey, DeviceSigner};
    use gridbook_core::sync::wire::{ErrorCode, WipeMode, WipeReport, PROTOCOL_VERSION};

    use crate::domain::auth::Role;

    fn device() -> DeviceAuth {
        DeviceAuth {
            device_id: "p1".into(),
            manager_id: "m".into(),
            role: Role::Field,
            grids: vec![],
            wipe: None,
            collector: Default::default(),
        }
    }

    fn report() -> WipeReport {
        WipeReport {
            device_id: "p1".into(),
            mode: WipeMode::Retire,
            ordered_at_ms: 1_790_000_000_000,
            wiped_at_ms: 1_790_000_060_000,
            ops_uploaded: 4,
            receipts_uploaded: 1,
            receipts_uploaded_fen: 12_800,
            ops_rejected: 1,
            ops_lost: 0,
            receipts_lost: 0,
            receipts_lost_fen: 0,
        }
    }

    fn signed(key: &DeviceKey, report: WipeReport) -> WipeReportRequest {
        let signature = to_hex(&key.sign(&report.signed_message()).unwrap());
        WipeReportRequest { protocol: PROTOCOL_VERSION, report, signature }
    }

    #[test]
    fn a_report_is_taken_only_signed_by_a_registered_key_of_its_own_device_and_within_bounds() {
        let key = DeviceKey::from_bytes(&[7; 32]);
        let keys = vec![to_hex(&DeviceKey::from_bytes(&[9; 32]).public_key_bytes()), to_hex(&key.public_key_bytes())];
        check_report(&device(), &signed(&key, report()), &keys).unwrap();

        let refused = |request: WipeReportRequest| match check_report(&device(), &request, &keys) {
            Err(DomainError::Refused { code: ErrorCode::Invalid, message }) => message,
            other => panic!("{other:?}"),
        };
        // another key, or a figure changed after signing
        assert!(refused(signed(&DeviceKey::from_bytes(&[8; 32]), report())).contains("does not verify"));
        let mut altered = signed(&key, report());
        altered.report.receipts_lost_fen = 1;
        altered.report.receipts_lost = 1;
        assert!(refused(altered).contains("does not verify"));
        assert!(refused(WipeReportRequest { signature: "zz".into(), ..signed(&key, report()) }).contains("128 hex"));
        // another device's report, even signed by that device's key
        assert!(refused(signed(&key, WipeReport { device_id: "p2".into(), ..report() })).contains("device_id"));
        // figures out of bounds, signed or not
        for bad in [
            WipeReport { ops_lost: WipeReport::MAX_COUNT + 1, ..report() },
            WipeReport { receipts_uploaded: 5, ..report() },
            WipeReport { receipts_uploaded_fen: -1, ..report() },
            WipeReport { receipts_lost_fen: 1, ..report() },
            WipeReport { wiped_at_ms: 0, ..report() },
        ] {
            assert!(refused(signed(&key, bad)).contains("report:"));
        }
        // no registered key: nothing verifies
        assert!(matches!(check_report(&device(), &signed(&key, report()), &[]), Err(DomainError::Refused { .. })));
    }
}
