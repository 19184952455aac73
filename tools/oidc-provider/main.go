// strata-oidc-provider: a real OpenID Connect provider for Strata's tests and local trials.
//
// It is zitadel/oidc v3's example OP (github.com/zitadel/oidc/v3/example/server: its op.Provider,
// in-memory storage and built-in username/password login page) with what Strata's API needs and
// the stock example lacks:
//
//   - access tokens are JWTs (the stock clients hand out opaque ones), signed RS256 by a key made
//     at start and published at /keys (discovery: /.well-known/openid-configuration);
//   - every access token's audience also names the API ($OIDC_AUDIENCE, default "strata");
//   - tokens carry `groups`, `email` and `name` claims, so roles can be mapped from groups;
//   - fixed clients and users (below), and it listens on 127.0.0.1 only, issuer http://127.0.0.1:$PORT.
//
// Clients:
//   - strata-cli: public (native) client, authorization code + PKCE (S256), redirect URIs from
//     $REDIRECT_URI (comma separated; default http://127.0.0.1/callback).
//   - strata-ci / strata-ci-secret: client credentials (HTTP Basic or form post).
//
// Users (login page at /login/username): alice / alice-password, bob / bob-password.
//
// Why this and not Ory Hydra: Hydra needs a separate login-and-consent app (or a script playing one
// against its admin API), a database DSN and a much larger build; this OP is one small binary with
// its own login form, so the authorization-code flow is a few plain HTTP requests.
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

type user struct {
	storage.User
	groups []string
}

var users = map[string]*user{
	"user-alice": {User: storage.User{ID: "user-alice", Username: "alice", Password: "alice-password",
		FirstName: "Alice", LastName: "Approver", Email: "alice@example.test", EmailVerified: true},
		groups: []string{"approvers-prod", "operators"}},
	"user-bob": {User: storage.User{ID: "user-bob", Username: "bob", Password: "bob-password",
		FirstName: "Bob", LastName: "Steward", Email: "bob@example.test", EmailVerified: true},
		groups: []string{"data-stewards"}},
}

const ciClientID, ciClientSecret = "strata-ci", "strata-ci-secret"

var serviceGroups = map[string][]string{ciClientID: {"automation"}}

// userStore implements storage.UserStore over the fixed users.
type userStore struct{}

func (userStore) GetUserByID(id string) *storage.User {
	if u, ok := users[id]; ok {
		return &u.User
	}
	return nil
}

func (userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range users {
		if u.Username == name {
			return &u.User
		}
	}
	return nil
}

func (userStore) ExampleClientID() string { return storage.ServiceUserID }

// jwtClient makes a client hand out JWT access tokens.
type jwtClient struct{ op.Client }

func (jwtClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

// serviceClient is the client-credentials client (the example's web client, with that grant only).
type serviceClient struct{ *storage.Client }

func (serviceClient) GetID() string                       { return ciClientID }
func (serviceClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (serviceClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (serviceClient) ClockSkew() time.Duration { return 0 }
func (serviceClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// apiAudience adds the API to an authorization request's audience.
type apiAudience struct {
	op.AuthRequest
	audience string
}

func (a apiAudience) GetAudience() []string {
	return append(append([]string{}, a.AuthRequest.GetAudience()...), a.audience)
}

type store struct {
	*storage.Storage
	audience string
}

func (s *store) wrap(req op.AuthRequest, err error) (op.AuthRequest, error) {
	if err != nil {
		return nil, err
	}
	return apiAudience{req, s.audience}, nil
}

func (s *store) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	return s.wrap(s.Storage.CreateAuthRequest(ctx, r, userID))
}

func (s *store) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.wrap(s.Storage.AuthRequestByID(ctx, id))
}

func (s *store) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return s.wrap(s.Storage.AuthRequestByCode(ctx, code))
}

func (s *store) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	if a, ok := req.(apiAudience); ok {
		req = a.AuthRequest
	}
	return s.Storage.CreateAccessToken(ctx, req)
}

func (s *store) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if a, ok := req.(apiAudience); ok {
		req = a.AuthRequest
	}
	return s.Storage.CreateAccessAndRefreshTokens(ctx, req, current)
}

func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return jwtClient{c}, nil
}

func (s *store) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if id != ciClientID || secret != ciClientSecret {
		return nil, oidc.ErrInvalidClient().WithDescription("wrong client id or secret")
	}
	return serviceClient{storage.WebClient(ciClientID, ciClientSecret)}, nil
}

func (s *store) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	if id != ciClientID {
		return nil, oidc.ErrInvalidClient()
	}
	return &oidc.JWTTokenRequest{Subject: id, Audience: []string{id, s.audience}, Scopes: scopes}, nil
}

func (s *store) GetPrivateClaimsFromScopes(ctx context.Context, subject, clientID string, scopes []string) (map[string]any, error) {
	claims, err := s.Storage.GetPrivateClaimsFromScopes(ctx, subject, clientID, scopes)
	if err != nil {
		return nil, err
	}
	if claims == nil {
		claims = map[string]any{}
	}
	if u, ok := users[subject]; ok {
		claims["groups"] = u.groups
		claims["email"] = u.Email
		claims["name"] = u.FirstName + " " + u.LastName
	} else if g, ok := serviceGroups[subject]; ok {
		claims["groups"] = g
		claims["name"] = subject
	}
	return claims, nil
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	port := os.Getenv("PORT")
	if port == "" {
		logger.Error("PORT is not set: the port to listen on at 127.0.0.1")
		os.Exit(2)
	}
	audience := os.Getenv("OIDC_AUDIENCE")
	if audience == "" {
		audience = "strata"
	}
	redirects := []string{"http://127.0.0.1/callback"}
	if v := os.Getenv("REDIRECT_URI"); v != "" {
		redirects = strings.Split(v, ",")
	}
	issuer := "http://127.0.0.1:" + port

	storage.RegisterClients(storage.NativeClient("strata-cli", redirects...))
	s := &store{Storage: storage.NewStorage(userStore{}), audience: audience}
	router := exampleop.SetupServer(issuer, s, logger, false)

	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		logger.Error("cannot listen", "port", port, "error", err)
		os.Exit(1)
	}
	logger.Info("strata-oidc-provider listening", "issuer", issuer, "audience", audience)
	if err := http.Serve(listener, router); err != nil {
		logger.Error("server stopped", "error", err)
		os.Exit(1)
	}
}
