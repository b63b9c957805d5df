package handlers

import (
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/fail"
	"countersign/password"
	"countersign/payout"
	"countersign/store"
	"countersign/views"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func allRoleNames() []string {
	var out []string
	for _, r := range payout.AllRoles() {
		out = append(out, string(r))
	}
	return out
}

// userForm is what the add and edit forms post.
type userForm struct {
	Email    string
	Name     string
	Roles    []string
	Password string
	Active   bool
}

func readUserForm(c echo.Context) (userForm, error) {
	params, err := c.FormParams()
	if err != nil {
		return userForm{}, err
	}
	return userForm{
		Email:    strings.TrimSpace(params.Get("email")),
		Name:     strings.TrimSpace(params.Get("name")),
		Roles:    params["role"],
		Password: params.Get("password"),
		Active:   params.Get("active") == "1",
	}, nil
}

// validate checks the fields that both forms share; isNew adds email and password.
func (f userForm) validate(isNew bool) views.FieldErrors {
	errs := views.FieldErrors{}
	if f.Name == "" || len(f.Name) > 100 {
		errs["name"] = "Enter a name of up to 100 characters"
	}
	for _, r := range f.Roles {
		if !slices.Contains(allRoleNames(), r) {
			errs["role"] = "Pick roles from the list"
		}
	}
	if isNew {
		if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || len(f.Email) > 254 {
			errs["email"] = "Enter an email address like name@example.com"
		}
		if err := password.Check(f.Password, password.Account{Email: f.Email, Name: f.Name}); err != nil {
			errs["password"] = fail.MessageOf(err)
		}
	}
	return errs
}

func (a *app) users(c echo.Context) error {
	return a.renderUsers(c, http.StatusOK, views.UserForm{Active: true})
}

func (a *app) renderUsers(c echo.Context, status int, form views.UserForm) error {
	ctx := c.Request().Context()
	users, err := a.DB.Users(ctx)
	if err != nil {
		return err
	}
	f, err := a.frame(c, "Users", "/admin/users")
	if err != nil {
		return err
	}
	m := views.UsersModel{Frame: f, New: form, AllRoles: allRoleNames()}
	for _, u := range users {
		n, err := a.DB.CountUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		m.Users = append(m.Users, views.UserRow{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Active: u.Active,
			Locked: u.LockedUntil.After(a.Now()), Sessions: n})
	}
	return render(c, status, views.UsersPage(m))
}

func (a *app) createUser(c echo.Context) error {
	in, err := readUserForm(c)
	if err != nil {
		return err
	}
	form := views.UserForm{Email: in.Email, Name: in.Name, Roles: in.Roles, Active: true, Errors: in.validate(true)}
	if len(form.Errors) > 0 {
		return a.renderUsers(c, http.StatusUnprocessableEntity, form)
	}
	hash, err := a.hasher.Hash(c.Request().Context(), in.Password)
	if err != nil {
		return err
	}
	u := &store.User{Email: in.Email, Name: in.Name, Roles: in.Roles, Active: true, PasswordHash: hash}
	err = a.DB.CreateUser(c.Request().Context(), u)
	if errors.Is(err, store.ErrEmailTaken) {
		form.Errors["email"] = "An account with that email already exists"
		return a.renderUsers(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	if err := a.audit(c, "user.create", "user", itoa(u.ID), "ok", u.Email+" roles="+strings.Join(u.Roles, ",")); err != nil {
		return err
	}
	if err := flash(c, "ok", "Added "+u.Name+"."); err != nil {
		return err
	}
	return redirect(c, "/admin/users")
}

// userFromPath loads the account named by :id; the store answers NotFound
// when there is none.
func (a *app) userFromPath(c echo.Context) (*store.User, error) {
	return a.DB.UserByID(c.Request().Context(), pathID(c, "id"))
}

func (a *app) editUser(c echo.Context) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	return a.renderEditUser(c, http.StatusOK, u, views.UserForm{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Active: u.Active}, "")
}

func (a *app) renderEditUser(c echo.Context, status int, u *store.User, form views.UserForm, passwordError string) error {
	n, err := a.DB.CountUserSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	f, err := a.frame(c, u.Name, "/admin/users")
	if err != nil {
		return err
	}
	return render(c, status, views.UserEditPage(views.UserEditModel{Frame: f, Form: form, AllRoles: allRoleNames(), Sessions: n, PasswordError: passwordError}))
}

func (a *app) updateUser(c echo.Context) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	in, err := readUserForm(c)
	if err != nil {
		return err
	}
	form := views.UserForm{ID: u.ID, Email: u.Email, Name: in.Name, Roles: in.Roles, Active: in.Active, Errors: in.validate(false)}
	me := currentUser(c)
	if u.ID == me.ID && (!in.Active || !slices.Contains(in.Roles, string(payout.RoleAdmin))) {
		form.Errors["role"] = "You cannot remove your own admin role or deactivate yourself; ask another admin"
	}
	if len(form.Errors) > 0 {
		return a.renderEditUser(c, http.StatusUnprocessableEntity, u, form, "")
	}
	ctx := c.Request().Context()
	if err := a.DB.UpdateUserAccess(ctx, u.ID, in.Name, in.Roles, in.Active); err != nil {
		return err
	}
	detail := "roles " + strings.Join(u.Roles, ",") + " → " + strings.Join(in.Roles, ",")
	if u.Active != in.Active {
		detail += "; active " + strconv.FormatBool(u.Active) + " → " + strconv.FormatBool(in.Active)
	}
	if err := a.audit(c, "user.update", "user", itoa(u.ID), "ok", detail); err != nil {
		return err
	}
	if !in.Active {
		if _, err := a.DB.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
	}
	if err := flash(c, "ok", "Saved "+in.Name+"."); err != nil {
		return err
	}
	return redirect(c, "/admin/users")
}

func (a *app) resetPassword(c echo.Context) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	pw := c.FormValue("password")
	if err := password.Check(pw, password.Account{Email: u.Email, Name: u.Name}); err != nil {
		return a.renderEditUser(c, statusOf(err), u, views.UserForm{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Active: u.Active}, fail.MessageOf(err))
	}
	ctx := c.Request().Context()
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := a.DB.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	// Whoever knew the old password may hold a session: end them all.
	if _, err := a.DB.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	if err := a.audit(c, "user.password_reset", "user", itoa(u.ID), "ok", "sessions ended"); err != nil {
		return err
	}
	if u.ID == currentUser(c).ID {
		return redirect(c, "/login")
	}
	if err := flash(c, "ok", "Password reset for "+u.Name+"; their sessions were ended."); err != nil {
		return err
	}
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

func (a *app) endSessions(c echo.Context) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	n, err := a.DB.DeleteUserSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	if err := a.audit(c, "user.sessions_ended", "user", itoa(u.ID), "ok", strconv.FormatInt(n, 10)+" session(s)"); err != nil {
		return err
	}
	if u.ID == currentUser(c).ID {
		return redirect(c, "/login")
	}
	if err := flash(c, "ok", "Ended "+strconv.FormatInt(n, 10)+" session(s) of "+u.Name+"."); err != nil {
		return err
	}
	return redirect(c, "/admin/users/"+itoa(u.ID))
}
