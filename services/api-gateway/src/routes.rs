//! The REST route table. Every `/api/v1` route is registered through [`Api`], which records its
//! method, path and [`Access`]; the authorization middleware enforces that record, the OpenAPI
//! test compares it with `/openapi.json`, and the matrix test walks it.

use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};

use crate::authz::{Action, Resource};
use crate::error::ApiError;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, refresh, accepting an invitation).
    Public,
    /// Any signed-in member, about themselves (`/me`, sign-out, their list of orgs).
    Session,
    /// A signed-in member holding `(resource, action)` in the caller's org.
    Perm(Resource, Action),
}

/// One registered route.
#[derive(Clone, Debug)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Every route, for the middleware: `(method, pattern) → access`.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    pub routes: Vec<RouteInfo>,
    index: HashMap<(Method, String), Access>,
}

impl RouteTable {
    /// The access rule of a matched pattern, or `None` for an unregistered method.
    pub fn access(&self, method: &Method, pattern: &str) -> Option<Access> {
        self.index
            .get(&(method.clone(), pattern.to_string()))
            .copied()
    }

    /// Whether `pattern` is a registered REST path (for any method).
    pub fn has_path(&self, pattern: &str) -> bool {
        self.routes.iter().any(|r| r.path == pattern)
    }
}

/// Collects routes; [`Api::register`] installs them on an actix app.
#[derive(Default)]
pub struct Api {
    table: Vec<RouteInfo>,
    resources: Vec<(&'static str, Vec<Route>)>,
}

impl Api {
    /// Adds `method path` served by `handler`, callable per `access`.
    pub fn route<F, Args>(
        &mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.push(RouteInfo {
            method: method.clone(),
            path,
            access,
        });
        let route = web::method(method).to(handler);
        match self.resources.iter_mut().find(|(p, _)| *p == path) {
            Some((_, routes)) => routes.push(route),
            None => self.resources.push((path, vec![route])),
        }
        self
    }

    /// The table of what was added.
    pub fn table(&self) -> RouteTable {
        let index = self
            .table
            .iter()
            .map(|r| ((r.method.clone(), r.path.to_string()), r.access))
            .collect();
        RouteTable {
            routes: self.table.clone(),
            index,
        }
    }

    /// Registers every resource; literal paths before parameterised ones, so
    /// `/invitations/accept` is not taken for an `{id}`.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        let mut resources = self.resources;
        resources.sort_by_key(|(path, _)| path.contains('{'));
        for (path, routes) in resources {
            let mut resource = web::resource(path).default_service(web::to(method_not_allowed));
            for route in routes {
                resource = resource.route(route);
            }
            cfg.service(resource);
        }
    }
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed())
}
