package handlers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"countersign/admin"
	"countersign/fail"
	"countersign/payout"
	"countersign/store"
	freetext "countersign/text"
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
	Email  string
	Name   string
	Roles  []string
	Active bool
}

func readUserForm(c echo.Context) (userForm, error) {
	params, err := c.FormParams()
	if err != nil {
		return userForm{}, err
	}
	return userForm{
		Email:  strings.TrimSpace(params.Get("email")),
		Name:   strings.TrimSpace(params.Get("name")),
		Roles:  params["role"],
		Active: params.Get("active") == "1",
	}, nil
}

// fieldErrors copies a form refusal's fields into errs; false if err is not one.
func fieldErrors(err error, errs views.FieldErrors) bool {
	var fe *fail.FieldError
	if !errors.As(err, &fe) {
		return false
	}
	maps.Copy(errs, fe.Fields)
	return true
}

// withhold blanks each typed value whose field was refused for holding a
// card number (freetext.HoldsCardNumber): a form keeps what was typed, except a
// card number, which is never shown back.
func withhold(errs map[string]string, typed map[string]*string) {
	for field, v := range typed {
		if freetext.HoldsCardNumber(errs[field]) {
			*v = ""
		}
	}
}

// pendingMessage says what a request applied and what waits for another admin.
func pendingMessage(res admin.Result, done string) string {
	switch {
	case len(res.Pending) > 0 && len(res.Applied) > 0:
		return fmt.Sprintf("%s Applied now: %s. Waiting for another admin: %d change(s), at Changes.", done, strings.Join(res.Applied, "; "), len(res.Pending))
	case len(res.Pending) > 0:
		return fmt.Sprintf("Waiting for another admin's approval: %d change(s), at Changes.", len(res.Pending))
	case len(res.Applied) > 0:
		return done + " " + strings.Join(res.Applied, "; ") + "."
	}
	return "Nothing changed."
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
		sf, err := a.DB.SecondFactor(ctx, u.ID)
		if err != nil {
			return err
		}
		m.Users = append(m.Users, views.UserRow{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Active: u.Active,
			Locked: u.LockedUntil.After(a.Now()), Sessions: n, Enrolled: sf.Enrolled()})
	}
	return render(c, status, views.UsersPage(m))
}

// createUser proposes an account; it exists once another admin approves.
func (a *app) createUser(c echo.Context) error {
	in, err := readUserForm(c)
	if err != nil {
		return err
	}
	_, err = a.Admin.ProposeUser(c.Request().Context(), actor(c), admin.NewUser{Email: in.Email, Name: in.Name, Roles: in.Roles})
	form := views.UserForm{Email: in.Email, Name: in.Name, Roles: in.Roles, Active: true, Errors: views.FieldErrors{}}
	if fieldErrors(err, form.Errors) {
		withhold(form.Errors, map[string]*string{"name": &form.Name})
		return a.renderUsers(c, statusOf(err), form)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", "Proposed an account for "+in.Name+": it is created when another admin approves it at Changes."); err != nil {
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
	return a.renderEditUser(c, http.StatusOK, u, views.UserForm{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Active: u.Active})
}

func (a *app) renderEditUser(c echo.Context, status int, u *store.User, form views.UserForm) error {
	ctx := c.Request().Context()
	n, err := a.DB.CountUserSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	sf, err := a.DB.SecondFactor(ctx, u.ID)
	if err != nil {
		return err
	}
	f, err := a.frame(c, u.Name, "/admin/users")
	if err != nil {
		return err
	}
	return render(c, status, views.UserEditPage(views.UserEditModel{Frame: f, Form: form, AllRoles: allRoleNames(), Sessions: n, Enrolled: sf.Enrolled()}))
}

// updateUser applies what takes power away and proposes what grants it.
func (a *app) updateUser(c echo.Context) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	in, err := readUserForm(c)
	if err != nil {
		return err
	}
	res, err := a.Admin.UpdateUser(c.Request().Context(), actor(c), u.ID, admin.Access{Name: in.Name, Roles: in.Roles, Active: in.Active})
	form := views.UserForm{ID: u.ID, Email: u.Email, Name: in.Name, Roles: in.Roles, Active: in.Active, Errors: views.FieldErrors{}}
	if fieldErrors(err, form.Errors) {
		withhold(form.Errors, map[string]*string{"name": &form.Name})
		return a.renderEditUser(c, statusOf(err), u, form)
	}
	if errors.Is(err, admin.ErrSelfLockout) {
		form.Errors["role"] = fail.MessageOf(err)
		return a.renderEditUser(c, statusOf(err), u, form)
	}
	if err != nil {
		return err
	}
	if err := flash(c, "ok", pendingMessage(res, "Saved "+in.Name+".")); err != nil {
		return err
	}
	return redirect(c, "/admin/users")
}

// resetPassword proposes a password reset; on approval the person gets a
// one-time link to choose a new one.
func (a *app) resetPassword(c echo.Context) error {
	return a.proposeReset(c, a.Admin.ProposePasswordReset, "a password reset")
}

// resetSecondFactor proposes removing someone's second factor.
func (a *app) resetSecondFactor(c echo.Context) error {
	return a.proposeReset(c, a.Admin.ProposeSecondFactorReset, "a second-factor reset")
}

func (a *app) proposeReset(c echo.Context, propose func(ctx context.Context, a admin.Actor, userID int64) (*store.AdminChange, error), what string) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	if _, err := propose(c.Request().Context(), actor(c), u.ID); err != nil {
		return err
	}
	if err := flash(c, "ok", "Proposed "+what+" for "+u.Name+": it applies when another admin approves it at Changes."); err != nil {
		return err
	}
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

// endSessions signs someone out everywhere, at once.
func (a *app) endSessions(c echo.Context) error {
	u, err := a.userFromPath(c)
	if err != nil {
		return err
	}
	n, err := a.Admin.EndSessions(c.Request().Context(), actor(c), u.ID)
	if err != nil {
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
