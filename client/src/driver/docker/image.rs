//! Images: pulled when missing (or with `force_pull`), with the task's `auth`, bounded by
//! the client's `pull_timeout`; removed `image_delay` after the last container using them
//! went away when `gc { image = true }`.

use std::time::Duration;

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures::StreamExt;

use super::config::AuthConfig;
use crate::error::DriverError;

/// Makes sure `image` is on the engine: pulls it when missing or when `force` is set.
pub async fn ensure(
    docker: &Docker,
    image: &str,
    force: bool,
    auth: Option<&AuthConfig>,
    timeout: Duration,
) -> Result<(), DriverError> {
    if !force && docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    let unavailable = |reason: String| DriverError::ImageUnavailable {
        image: image.to_string(),
        reason,
    };
    let (repo, tag) = split_reference(image);
    let options = CreateImageOptionsBuilder::new()
        .from_image(repo)
        .tag(tag)
        .build();
    let credentials = auth.map(|a| DockerCredentials {
        username: non_empty(&a.username),
        password: non_empty(&a.password),
        email: non_empty(&a.email),
        serveraddress: non_empty(&a.server_address),
        ..DockerCredentials::default()
    });
    let pull = async {
        let mut stream = docker.create_image(Some(options), None, credentials);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                return Err(e.to_string());
            }
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, pull).await {
        Ok(Ok(())) => {}
        Ok(Err(reason)) => return Err(unavailable(reason)),
        Err(_) => {
            return Err(unavailable(format!(
                "pull did not finish within pull_timeout ({}s)",
                timeout.as_secs()
            )));
        }
    }
    // A pull that "succeeded" without producing the image is still a failure.
    docker
        .inspect_image(image)
        .await
        .map(|_| ())
        .map_err(|e| unavailable(e.to_string()))
}

/// Removes `image` after `delay` unless a container (running or not) still uses it.
pub fn schedule_gc(docker: Docker, image: String, delay: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let filters = std::collections::HashMap::from([("ancestor", vec![image.as_str()])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        // Only containers created from this very reference hold it back: another tag of
        // the same image in use elsewhere does not, and removing an image some container
        // still needs is refused by the engine anyway (no force).
        let holds = |c: &bollard::models::ContainerSummary| c.image.as_deref() == Some(&image);
        match docker.list_containers(Some(options)).await {
            Ok(users) if !users.iter().any(holds) => {}
            Ok(_) => return,
            Err(e) => {
                tracing::debug!(%image, error = %e, "image gc: listing containers failed");
                return;
            }
        }
        let options = RemoveImageOptionsBuilder::new().force(false).build();
        match docker.remove_image(&image, Some(options), None).await {
            Ok(_) => tracing::info!(%image, "image gc: removed unused image"),
            Err(e) => tracing::debug!(%image, error = %e, "image gc: image kept"),
        }
    });
}

/// `registry:5000/app:1.2` -> (`registry:5000/app`, `1.2`); no tag means `latest`; a digest
/// stays in the repository part.
pub fn split_reference(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_reference("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(
            split_reference("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/app:v2"),
            ("localhost:5000/app", "v2")
        );
    }
}
